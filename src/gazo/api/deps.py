"""FastAPI dependencies as `Annotated` aliases, so routes declare what they need in their signature."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated

from fastapi import Depends, Request

from gazo.billing.values import Caller
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


async def get_caller(request: Request, service: ServiceDep, settings: SettingsDep) -> Caller:
    """The API key's caller; without keys, open mode only while gazo listens on loopback."""
    allow_open = is_loopback(settings.server.host)
    return await service.authenticate(request.headers.get("authorization"), allow_open=allow_open)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def get_request_id(request: Request) -> str:
    """The client's `X-Request-Id` if it sent one, else a fresh id; echoed in the response."""
    return request.headers.get("x-request-id") or f"req_{uuid.uuid4().hex[:24]}"


CallerDep = Annotated[Caller, Depends(get_caller)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
