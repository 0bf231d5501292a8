"""From `[[models]]` configuration to backend instances, names and aliases.

Options are validated here, at start-up, by each backend's own `Options` class, so a typo in the
config stops `gazo serve` with a clear message instead of failing the first request.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from gazo.backends.adapters import check_source
from gazo.backends.base import BackendContext, ImageBackend
from gazo.errors import ModelNotFound
from gazo.settings import OPENAI_IMAGE_MODELS, ModelSpec


class ConfigurationError(ValueError):
    """The model configuration cannot be served as written."""


@dataclass(frozen=True)
class ModelEntry:
    """A name `/v1/models` lists, and the model it selects."""

    id: str
    model: str
    is_alias: bool
    is_adapter: bool = False  # a LoRA adapter of `model`, published under its own name


class ModelRegistry:
    """The configured models by name; OpenAI's model names select the default model unless claimed."""

    def __init__(
        self,
        specs: list[ModelSpec],
        classes: dict[str, type[ImageBackend]],
        context: BackendContext,
        default_model: str | None = None,
    ) -> None:
        if not specs:
            raise ConfigurationError("no model is configured")
        self.backends: dict[str, ImageBackend] = {}
        self.specs = {spec.name: spec for spec in specs}  # how each is kept in memory (preload, ...)
        for spec in specs:
            if spec.name in self.backends:
                raise ConfigurationError(f"model name {spec.name!r} is configured twice")
            self.backends[spec.name] = _build(spec, classes, context)
        self.default = default_model or specs[0].name
        if self.default not in self.backends:
            raise ConfigurationError(f"default_model {self.default!r} is not a configured model")
        self._aliases: dict[str, str] = {}
        for spec in specs:
            for alias in spec.aliases:
                if alias in self.backends or self._aliases.get(alias, spec.name) != spec.name:
                    raise ConfigurationError(f"alias {alias!r} names two models")
                self._aliases[alias] = spec.name
        #: LoRA adapter name -> the model it applies to (a request for it renders on that model).
        self._adapters = _adapter_names(specs, set(self.backends) | set(self._aliases))
        for name in OPENAI_IMAGE_MODELS:
            if name not in self._adapters:
                self._aliases.setdefault(name, self.default)

    def resolve(self, requested: str | None) -> ImageBackend:
        """The backend for a request's `model` field (None = the default model)."""
        if not requested:
            return self.backends[self.default]
        name = self._adapters.get(requested) or self._aliases.get(requested, requested)
        if name not in self.backends:
            available = [*self.backends, *self._adapters]
            raise ModelNotFound(requested, available=available, aliases=list(self._aliases))
        return self.backends[name]

    def entries(self) -> list[ModelEntry]:
        models = [ModelEntry(id=name, model=name, is_alias=False) for name in self.backends]
        adapters = [
            ModelEntry(id=adapter, model=name, is_alias=False, is_adapter=True)
            for adapter, name in self._adapters.items()
        ]
        aliases = [ModelEntry(id=alias, model=name, is_alias=True) for alias, name in self._aliases.items()]
        return models + adapters + aliases


def _adapter_names(specs: list[ModelSpec], taken: set[str]) -> dict[str, str]:
    """Every adapter's name -> its model; a name used twice, or by a model or alias, is refused, and so
    is a local source that is missing."""
    adapters: dict[str, str] = {}
    for spec in specs:
        for adapter in spec.adapters:
            if adapter.name in taken or adapter.name in adapters:
                raise ConfigurationError(
                    f"model {spec.name!r}: adapter name {adapter.name!r} is already a model, alias or adapter"
                )
            try:
                check_source(adapter)
            except ValueError as error:
                raise ConfigurationError(f"model {spec.name!r}: {error}") from None
            adapters[adapter.name] = spec.name
    return adapters


def _build(spec: ModelSpec, classes: dict[str, type[ImageBackend]], context: BackendContext) -> ImageBackend:
    backend_class = classes.get(spec.backend)
    if backend_class is None:
        raise ConfigurationError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; registered: {', '.join(sorted(classes))}"
        )
    if spec.adapters and not backend_class.accepts_adapters:
        raise ConfigurationError(
            f"model {spec.name!r}: the {spec.backend!r} backend cannot apply LoRA adapters; "
            'serve the model with `backend = "diffusers"` to use `[[models.adapters]]`'
        )
    try:
        options = backend_class.Options(**spec.options)
    except ValidationError as error:
        raise ConfigurationError(f"model {spec.name!r}: invalid options: {error}") from None
    model_context = BackendContext(
        cache_dir=context.cache_dir,
        offline=context.offline,
        dtype=spec.dtype,
        device=spec.device,
        adapters=tuple(spec.adapters),
        request_adapters=spec.request_adapters,
    )
    return backend_class(spec.name, spec.source, options, model_context)
