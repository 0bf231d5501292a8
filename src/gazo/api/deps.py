"""FastAPI dependencies as `Annotated` aliases, so routes declare what they need in their signature.

Every one is `async def`, even those that never await: FastAPI runs a plain `def` dependency on a
worker thread, a thread hop per dependency per request (refusals included) for nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gazo.api.gate import authorization_of, caller_of, is_loopback_name, request_id_of
from gazo.billing.values import Caller
from gazo.errors import Unavailable
from gazo.provenance import Provenance
from gazo.service import ImageService, ModelCatalog, UsageReports
from gazo.settings import Settings


def _started(request: Request, name: str) -> Any:
    """A part the lifespan puts on `app.state` once the service has started; 503 until then."""
    part = getattr(request.app.state, name, None)
    if part is None:
        raise Unavailable("gazo is starting up; retry shortly.")
    return part


async def get_service(request: Request) -> ImageService:
    service: ImageService = _started(request, "service")
    return service


async def get_models(request: Request) -> ModelCatalog:
    models: ModelCatalog = _started(request, "models")
    return models


async def get_usage(request: Request) -> UsageReports:
    usage: UsageReports = _started(request, "usage")
    return usage


async def get_provenance(request: Request) -> Provenance:
    provenance: Provenance = _started(request, "provenance")
    return provenance


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[ImageService, Depends(get_service)]
ModelsDep = Annotated[ModelCatalog, Depends(get_models)]
UsageDep = Annotated[UsageReports, Depends(get_usage)]
ProvenanceDep = Annotated[Provenance, Depends(get_provenance)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_caller(request: Request, service: ServiceDep, settings: SettingsDep) -> Caller:
    """The API key's caller, as the request gate authenticated it before the body was read."""
    caller = caller_of(request)
    if caller is not None:
        return caller
    allow_open = is_loopback_name(settings.server.host)  # a route the gate treats as public asked for one
    return await service.authenticate(authorization_of(request.headers), allow_open=allow_open)


async def get_request_id(request: Request) -> str:
    """The client's `X-Request-Id` if it sent a safe one, else a fresh id; echoed in the response."""
    return request_id_of(request)


CallerDep = Annotated[Caller, Depends(get_caller)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
