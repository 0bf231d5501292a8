"""`create_app(settings)`: the FastAPI application, with no import-time state.

The lifespan builds the service from settings (or takes one that was handed in, as Ray's ingress
does), starts model loading in the background and closes everything on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gazo.api.errors import install_error_handlers
from gazo.api.routes import health, images, models, provenance, usage, web
from gazo.service import ImageService
from gazo.settings import Settings
from gazo.version import __version__


def create_app(settings: Settings, service: ImageService | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = service or ImageService.from_settings(settings)
        await running.start()
        app.state.service = running
        try:
            yield
        finally:
            await running.close()

    app = FastAPI(title="gazo", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    for module in (images, models, provenance, usage, health, web):
        app.include_router(module.router)
    return app
