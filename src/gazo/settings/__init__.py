"""Every knob gazo has, its default and its help text; the only reader of the environment and config files.

Precedence, lowest first: field defaults < the TOML file given with ``--config`` < ``GAZO_*`` environment
variables (and ``.env``) < explicit keyword arguments (CLI flags). Build it once at the edge with
:meth:`Settings.load` and pass the sections down; nothing imports a global instance. The sections
live in :mod:`gazo.settings.serving` and :mod:`gazo.settings.safeguards`.
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gazo.settings.compat import BatchSettings, CompatSettings, PromptRewriteSettings
from gazo.settings.safeguards import BillingSettings, ModerationSettings, ProvenanceSettings
from gazo.settings.serving import AdapterSpec, EngineSettings, ModelSpec, RaySettings, ServerSettings

__all__ = [
    "BUILTIN_MODEL_NAME",
    "OPENAI_IMAGE_MODELS",
    "AdapterSpec",
    "BatchSettings",
    "BillingSettings",
    "CompatSettings",
    "EngineSettings",
    "ModelSpec",
    "ModerationSettings",
    "PromptRewriteSettings",
    "ProvenanceSettings",
    "RaySettings",
    "ServerSettings",
    "Settings",
]

#: OpenAI's image model names. Each is an alias of the default model unless a model claims it.
OPENAI_IMAGE_MODELS: tuple[str, ...] = (
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "chatgpt-image-latest",
    "dall-e-2",
    "dall-e-3",
)

#: The model served when the operator configures none: gazo's own offline design compositor.
BUILTIN_MODEL_NAME = "gazo-builtin"

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("gazo_config_file", default=None)


class Settings(BaseSettings):
    """gazo's whole configuration, validated once and frozen."""

    model_config = SettingsConfigDict(
        env_prefix="GAZO_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(
        default_factory=lambda: Path.home() / ".local" / "share" / "gazo",
        description="Where gazo keeps what it keeps (models it built or pulled, keys, database).",
    )
    default_model: str | None = Field(
        None, description="Model used when a request names none or names an OpenAI model; default: the first."
    )
    models: list[ModelSpec] = Field(
        default_factory=list, description="Models to serve; empty = the built-in offline default."
    )
    hub_offline: bool = Field(
        False, description="Never contact the Hugging Face hub; load only local folders and the hub cache."
    )
    plugins: list[str] | None = Field(
        None, description="Restrict which plugins load (module or entry-point names); default: all."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    engine: EngineSettings = Field(default_factory=EngineSettings, description="Job queueing.")
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings, description="C2PA signing.")
    ray: RaySettings = Field(default_factory=RaySettings, description="Ray Serve scale-out.")
    billing: BillingSettings = Field(
        default_factory=BillingSettings, description="API keys, metering, budgets and rate limits."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database (`postgresql://user@host/db`); default: SQLite at "
        "`<data_dir>/gazo.db`. Top level so that `GAZO_DATABASE_URL` sets it.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis that several gazo processes share rate-limit counters through "
        "(`redis://host:6379/0`); default: counters in-process. Top level so that `GAZO_REDIS_URL` sets it.",
    )

    compat: CompatSettings = Field(
        default_factory=CompatSettings,
        description="OpenAI's other surfaces: `url` responses, the Responses API, prompt rewriting.",
    )
    batch: BatchSettings = Field(
        default_factory=BatchSettings,
        description="The Files and Batch APIs: sizes, lines, how long files last.",
    )
    moderation: ModerationSettings = Field(
        default_factory=ModerationSettings,
        description="Prompt and image moderation (on by default), thresholds, organisation rules.",
    )

    @field_validator("data_dir")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Build settings from defaults, a TOML file, the environment and explicit overrides (highest)."""
        path = Path(config_file).expanduser() if config_file else None
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        token = _config_file.set(path)
        try:
            return cls(**{key: value for key, value in overrides.items() if value is not None})
        finally:
            _config_file.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return (*sources, file_secret_settings)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def served_models(self) -> list[ModelSpec]:
        """The configured models, or the built-in default when none are configured."""
        if self.models:
            return list(self.models)
        return [ModelSpec(name=BUILTIN_MODEL_NAME, backend="builtin", source="builtin")]
