"""The composition root: settings in, a ready-to-start `ImageService` out. Each part gets only its section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gazo.backends.base import BackendContext
from gazo.backends.registry import ModelRegistry
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.plugins import backend_classes, load_plugins
from gazo.provenance import Provenance
from gazo.settings import Settings
from gazo.version import __version__

if TYPE_CHECKING:
    from gazo.service import ImageService


def build_service(service_class: type[ImageService], settings: Settings) -> ImageService:
    manager = load_plugins(settings.plugins)
    context = BackendContext(cache_dir=settings.models_dir / "hub", offline=settings.hub_offline)
    registry = ModelRegistry(
        settings.served_models(), backend_classes(manager), context, settings.default_model
    )
    engine = LocalEngine(registry, settings.engine, EngineMetrics())
    provenance = Provenance.from_settings(
        settings.provenance, data_dir=settings.data_dir, version=__version__
    )
    return service_class(engine, settings, provenance)
