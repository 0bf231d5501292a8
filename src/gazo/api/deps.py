"""FastAPI dependencies as `Annotated` aliases, so routes declare what they need in their signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gazo.errors import Unavailable
from gazo.service import ImageService
from gazo.settings import Settings


def get_service(request: Request) -> ImageService:
    service: ImageService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise Unavailable("gazo is starting up; retry shortly.")
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[ImageService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
