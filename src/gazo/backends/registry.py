"""From `[[models]]` configuration to backend instances, names and aliases.

Options are validated here, at start-up, by each backend's own `Options` class, so a typo in the
config stops `gazo serve` with a clear message instead of failing the first request.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

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
        for name in OPENAI_IMAGE_MODELS:
            self._aliases.setdefault(name, self.default)

    def resolve(self, requested: str | None) -> ImageBackend:
        """The backend for a request's `model` field (None = the default model)."""
        if not requested:
            return self.backends[self.default]
        name = self._aliases.get(requested, requested)
        if name not in self.backends:
            raise ModelNotFound(requested, available=list(self.backends), aliases=list(self._aliases))
        return self.backends[name]

    def entries(self) -> list[ModelEntry]:
        models = [ModelEntry(id=name, model=name, is_alias=False) for name in self.backends]
        return models + [
            ModelEntry(id=alias, model=name, is_alias=True) for alias, name in self._aliases.items()
        ]


def _build(spec: ModelSpec, classes: dict[str, type[ImageBackend]], context: BackendContext) -> ImageBackend:
    backend_class = classes.get(spec.backend)
    if backend_class is None:
        raise ConfigurationError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; registered: {', '.join(sorted(classes))}"
        )
    try:
        options = backend_class.Options(**spec.options)
    except ValidationError as error:
        raise ConfigurationError(f"model {spec.name!r}: invalid options: {error}") from None
    model_context = BackendContext(
        cache_dir=context.cache_dir, offline=context.offline, dtype=spec.dtype, device=spec.device
    )
    return backend_class(spec.name, spec.source, options, model_context)
