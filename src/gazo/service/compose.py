"""The composition root: settings in, a ready-to-start `ImageService` out. Each part gets only its section.

`gazo serve`, `gazo generate` and every Ray replica build their parts here, so a second deployment
shape never grows a second wiring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gazo.backends.base import BackendContext
from gazo.backends.registry import ModelRegistry
from gazo.billing.meter import Meter
from gazo.engine.base import Engine
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.moderation import Moderation
from gazo.plugins import backend_classes, load_plugins
from gazo.provenance import Provenance
from gazo.settings import ModelSpec, Settings
from gazo.version import __version__

if TYPE_CHECKING:
    from gazo.service import ImageService


def build_registry(settings: Settings, specs: list[ModelSpec] | None = None) -> ModelRegistry:
    """Backends for `specs` (default: every served model), constructed but not loaded."""
    specs = settings.served_models() if specs is None else specs
    default = settings.default_model if any(spec.name == settings.default_model for spec in specs) else None
    context = BackendContext(cache_dir=settings.models_dir / "hub", offline=settings.hub_offline)
    return ModelRegistry(specs, backend_classes(load_plugins(settings.plugins)), context, default)


def build_local_engine(settings: Settings, specs: list[ModelSpec] | None = None) -> LocalEngine:
    return LocalEngine(build_registry(settings, specs), settings.engine, EngineMetrics())


def build_service(
    service_class: type[ImageService], settings: Settings, engine: Engine | None = None
) -> ImageService:
    provenance = Provenance.from_settings(
        settings.provenance, data_dir=settings.data_dir, version=__version__
    )
    meter = Meter.from_settings(settings)
    moderation = Moderation.from_settings(settings.moderation)
    return service_class(engine or build_local_engine(settings), settings, provenance, meter, moderation)
