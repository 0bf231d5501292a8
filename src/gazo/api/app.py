"""`create_app(settings)`: the FastAPI application, with no import-time state.

The lifespan builds the service from settings (or takes one that was handed in, as Ray's ingress
does), starts model loading in the background and closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gazo.api.azure import AzureRoutes
from gazo.api.batches.runner import BatchRunner
from gazo.api.errors import install_error_handlers
from gazo.api.gate import RequestGate, is_loopback_name
from gazo.api.openapi import install_openapi
from gazo.api.routes import (
    batches,
    files,
    health,
    image_files,
    images,
    models,
    provenance,
    responses,
    usage,
    web,
)
from gazo.api.shutdown import ShutdownCutoff
from gazo.service import ImageService, ModelCatalog, UsageReports
from gazo.settings import Settings
from gazo.version import __version__

logger = logging.getLogger(__name__)


def create_app(settings: Settings, service: ImageService | None = None) -> FastAPI:
    allow_open = is_loopback_name(settings.server.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = service or ImageService.from_settings(settings)
        await running.start()
        app.state.service = running
        _install_desks(app, running)
        runner = BatchRunner(running, settings)
        runner.start()
        app.state.batches = runner
        mode = await asyncio.to_thread(running.auth_mode, allow_open=allow_open)
        _log_address(settings)
        _log_auth_mode(mode, settings)
        try:
            yield
        finally:
            await runner.close()
            await running.close()

    app = FastAPI(title="gazo", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(
        RequestGate,
        server=settings.server,
        allow_open=allow_open,
        max_file_bytes=settings.batch.max_file_bytes,
    )
    app.add_middleware(AzureRoutes)  # outside the gate: its body limits and auth see the rewritten path
    app.add_middleware(ShutdownCutoff, retry_after_s=settings.engine.retry_after_s)  # outermost: sees all
    install_error_handlers(app)
    for module in (images, image_files, responses, files, batches, models, provenance, usage, health, web):
        app.include_router(module.router)
    install_openapi(app, settings.server)
    return app


def _install_desks(app: FastAPI, service: ImageService) -> None:
    """The read-only parts beside the request path, each on `app.state` for its routes: the model
    catalogue (with prices), the usage reports, and provenance (verification, the trust anchor). Wired
    here, once, so no route reaches through the service into its engine or meter."""
    app.state.models = ModelCatalog(service.engine, service.meter.prices)
    app.state.usage = UsageReports(service.meter)
    app.state.provenance = service.provenance


def _log_address(settings: Settings) -> None:
    """The first line a user needs: which gazo, and where its API and playground are.

    Logged as start-up ends, just before uvicorn listens (uvicorn's own start-up lines are DEBUG,
    see `gazo.cli.logs`); the models go on loading after it and each says when it is ready."""
    host, port = settings.server.host, settings.server.port
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    logger.info("gazo %s: API %s/v1, playground %s/", __version__, base, base)


def _log_auth_mode(mode: str, settings: Settings) -> None:
    if mode == "open":
        logger.warning(
            "gazo runs OPEN: no API key has been created, so requests without one are served as the "
            "operator (loopback host names and pages only). `gazo keys create` closes it for good."
        )
    elif settings.billing.require_auth:
        logger.info("gazo requires an API key on every request (billing.require_auth).")
    else:
        logger.info("gazo requires an API key on every request (keys exist; open mode never returns).")
