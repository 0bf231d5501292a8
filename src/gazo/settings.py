"""Every knob gazo has, its default and its help text; the only reader of the environment and config files.

Precedence, lowest first: field defaults < the TOML file given with ``--config`` < ``GAZO_*`` environment
variables (and ``.env``) < explicit keyword arguments (CLI flags). Build it once at the edge with
:meth:`Settings.load` and pass the sections down; nothing imports a global instance.
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

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
)

#: The model served when the operator configures none: gazo's own offline design compositor.
BUILTIN_MODEL_NAME = "gazo-builtin"

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("gazo_config_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    """How the HTTP server listens and what it accepts."""

    host: str = Field("127.0.0.1", description="Interface `gazo serve` binds to.")
    port: int = Field(
        8000, ge=0, le=65535, description="TCP port `gazo serve` listens on (0 = any free port)."
    )
    max_upload_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="Largest accepted image upload, per file (OpenAI: < 50 MB)."
    )
    max_mask_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest accepted mask upload (OpenAI: < 4 MB)."
    )
    max_input_images: int = Field(16, ge=1, le=64, description="Most images one edit request may carry.")
    max_input_pixels: int = Field(
        40_000_000,
        ge=4096,
        description="Largest decoded input image (width x height); larger ones are refused before decoding, "
        "which is the defence against decompression bombs.",
    )
    max_request_input_pixels: int = Field(
        600_000_000,
        ge=4096,
        description="Most pixels one edit request may have decoded, over all its images and its mask "
        "(checked from their headers before any decoding; JPEG references count at the reduced scale they "
        "are decoded at). Images are decoded one at a time and references shrunk at once, so memory stays "
        "small and this bounds decoding time: 1-3 s of one core per 50 million PNG pixels, by how well "
        "they compress. The default lets sixteen 6000x6000 images through.",
    )
    max_json_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body of a JSON route (generations, and every route without uploads); "
        "edits may carry `max_input_images` x `max_upload_bytes` + `max_mask_bytes` + 1 MiB. Enforced "
        "while the body streams, chunked or not, and only after the API key was checked.",
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for the next piece of a request body before a 408."
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="Time a connection has to send a whole request line and headers."
    )
    max_header_bytes: int = Field(
        32 * 1024, ge=1024, description="Largest request line plus headers; larger ones get 431."
    )
    max_headers: int = Field(100, ge=8, description="Most header fields one request may send (431 beyond).")
    max_connections: int = Field(
        1024,
        ge=1,
        description="Open client connections `gazo serve` holds at once; further ones are closed at once "
        "(keep it below the process's file-descriptor limit).",
    )
    public_metrics: bool = Field(
        False,
        description="Serve `/metrics` without an API key. Off: while keys are required, Prometheus must "
        "send one (`authorization` in its scrape config); in open mode it is public either way.",
    )
    public_docs: bool = Field(
        False,
        description="Serve `/docs`, `/redoc` and `/openapi.json` without an API key (same rule as "
        "`public_metrics`).",
    )
    request_timeout_s: float = Field(
        600.0, gt=0, description="A request still rendering after this many seconds is cancelled with a 504."
    )
    shutdown_grace_s: float = Field(
        25.0,
        ge=0,
        description="After SIGTERM, how long `gazo serve` lets requests in flight finish; the rest are "
        "cancelled, their reservations released, and they get 503 `shutting_down` with `Retry-After` (a "
        "started stream ends with that error event). Keep it below the orchestrator's kill timeout "
        "(Kubernetes: 30 s) so no money stays held by a killed process.",
    )


class ModelSpec(_Section):
    """One servable model: which backend loads it, from where, and under which names."""

    name: str = Field(description="The model's name in the API (`model` field, `/v1/models`).")
    backend: str = Field("diffusers", description="Registered backend that loads it (`diffusers`, ...).")
    source: str = Field(description="Hugging Face hub id or local folder passed to `from_pretrained`.")
    aliases: list[str] = Field(default_factory=list, description="Other names that select this model.")
    device: str | None = Field(
        None, description="`cuda`, `cuda:1`, `mps` or `cpu`; default: the best available."
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights dtype; `auto` = bf16 (or fp16) on GPUs, fp32 on CPU."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Backend-specific options, validated by the backend's own `Options` class "
        "(e.g. `steps = {low = 12, medium = 25, high = 40}`).",
    )


class EngineSettings(_Section):
    """Where and when jobs run."""

    queue_size: int = Field(
        32,
        ge=1,
        description="Requests that may wait per model, counted from the moment one is read (before "
        "moderation and billing) until the model takes it, plus one while the model is idle; past that, "
        "requests get 429 with `Retry-After` at once, with no usage row and no rate-limit count.",
    )
    retry_after_s: int = Field(
        5, ge=1, description="`Retry-After` seconds sent with a queue-full 429 and a shutdown 503."
    )


class RaySettings(_Section):
    """Scale-out on Ray Serve (`gazo serve --ray`): one `ModelWorker` deployment per model."""

    address: str | None = Field(
        None, description="Ray cluster to join (`auto`, `ray://host:10001`); default: a local one."
    )
    num_replicas: int | None = Field(
        1, ge=1, description="Fixed replicas per model; set to null to autoscale between the bounds below."
    )
    min_replicas: int = Field(1, ge=0, description="Autoscaling lower bound per model.")
    max_replicas: int = Field(4, ge=1, description="Autoscaling upper bound per model.")
    target_ongoing_requests: float = Field(
        2.0, gt=0, description="Autoscaling target of requests per replica."
    )
    num_gpus: float = Field(0.0, ge=0, description="GPUs each model replica reserves.")
    num_cpus: float = Field(
        0.0, ge=0, description="CPUs each replica reserves (0 lets small machines pack them)."
    )
    max_ongoing_requests: int = Field(
        4, ge=1, description="Requests one model replica holds at once (running plus its own queue)."
    )
    max_queued_requests: int = Field(
        8, ge=0, description="Requests Ray may queue per model before answering 429 with `Retry-After`."
    )
    object_store_memory: int = Field(
        256 * 1024 * 1024,
        ge=78 * 1024 * 1024,
        description="Object store size for a local Ray cluster (bytes).",
    )


class ProvenanceSettings(_Section):
    """C2PA Content Credentials on every image that leaves gazo (see the provenance issue)."""

    enabled: bool = Field(
        True, description="Sign every output. Turning it off is an explicit operator decision."
    )
    cert_chain_file: Path | None = Field(
        None,
        description="PEM certificate chain to sign with (end-entity first, then its issuers). Unset: gazo "
        "creates a local root CA and an ES256 signing certificate in `<data_dir>/provenance/` on first start "
        "and reuses them.",
    )
    private_key_file: Path | None = Field(
        None,
        description="PEM private key of the chain's end-entity certificate (PKCS#8 or SEC1, unencrypted). "
        "Needed with `cert_chain_file` unless `sign_callback` signs instead.",
    )
    sign_callback: str | None = Field(
        None,
        description="`package.module:function` that signs bytes for a key gazo never sees (KMS, HSM): "
        "`f(data: bytes) -> bytes` returning a DER or raw signature for `signing_alg`. "
        "Needs `cert_chain_file`.",
    )
    signing_alg: Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"] | None = Field(
        None, description="Signing algorithm; default: the one the certificate's key implies (P-256: es256)."
    )
    tsa_url: str | None = Field(
        None,
        description="RFC 3161 timestamp authority contacted for every signature, so credentials outlive the "
        "certificate. If it is unreachable, signing fails.",
    )
    include_prompt: bool = Field(
        False, description="Write the prompt into the manifest (the action's `description`); off for privacy."
    )
    thumbnail: bool = Field(
        False,
        description="Embed a 256-px JPEG thumbnail in the manifest (adds 8-20 KB and 5-90 ms per image).",
    )
    allow_unsigned_on_failure: bool = Field(
        False,
        description="If signing fails, return the image unsigned instead of failing the request. "
        "Off: nothing unsigned ever leaves gazo.",
    )
    extra_trust_anchors_file: Path | None = Field(
        None,
        description="PEM file of further root certificates that verification (and ingredient checks) trust "
        "besides this deployment's own root.",
    )
    organization: str = Field(
        "gazo",
        description="Organization name written into the certificates gazo creates for itself "
        "(used only when they are first created).",
    )


class BillingSettings(_Section):
    """API keys, metering, budgets and rate limits (see `gazo keys`, `gazo usage`)."""

    require_auth: bool = Field(
        False,
        description="Demand a valid API key even when no key exists and gazo listens on loopback "
        "(otherwise such a server runs open, and says so in its log).",
    )
    allow_open_with_keys: bool = Field(
        False,
        description="Keep serving keyless requests on loopback (open mode) after API keys were created. "
        "Off: once any key has existed, revoked or not, every request needs a valid key, so revoking "
        "the last key never reopens the server.",
    )
    auth_cache_s: float = Field(
        1.0,
        ge=0,
        description="How long a process remembers an API key it found, so a burst asks the database once "
        "a second rather than once a request; a revoked key stops working within this time. 0: ask "
        "every time.",
    )
    prices: dict[str, dict[Literal["text_input", "image_input", "image_output"], float]] = Field(
        default_factory=lambda: {"default": {"text_input": 5.0, "image_input": 10.0, "image_output": 40.0}},
        description="USD per 1M tokens by model name (`text_input`, `image_input`, `image_output`); "
        "`default` prices every model not listed. Default: gpt-image-1's $5 / $10 / $40.",
    )
    default_rpm: int | None = Field(
        None, ge=1, description="Requests per minute for keys without their own limit (and open mode)."
    )
    default_ipm: int | None = Field(
        None, ge=1, description="Images per minute for keys without their own limit (and open mode)."
    )
    retention_days: int = Field(
        0,
        ge=0,
        description="Days to keep prompt text beside usage rows, then purge it; 0 keeps none (privacy).",
    )
    reservation_timeout_s: int = Field(
        900,
        ge=1,
        description="A budget reservation not settled after this long is released (its process died); "
        "keep it above `server.request_timeout_s`.",
    )

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, price in value.items():
            missing = {"text_input", "image_input", "image_output"} - set(price)
            if missing:
                raise ValueError(f"`prices.{model}` lacks {', '.join(sorted(missing))}")
            if any(amount < 0 for amount in price.values()):
                raise ValueError(f"`prices.{model}` has a negative price")
        return value


class ModerationSettings(_Section):
    """Checks on every prompt, input image and output image; on by default, only operators turn them off."""

    class Rule(_Section):
        """An operator's own blocked phrases, e.g. `terms = ["in the style of Studio Ghibli"]`."""

        name: str = Field(min_length=1, description="Rule id, reported in the verdict (`rule`) and the log.")
        terms: list[str] = Field(
            min_length=1,
            description="Words or phrases that block: whole words, case-insensitive, punctuation "
            "ignored (`Studio-Ghibli` matches `studio ghibli`); Japanese phrases match anywhere.",
        )
        reason: str = Field(min_length=1, description="Message the client gets when this rule blocks.")
        organizations: list[str] = Field(
            default_factory=list,
            description="Organisations (of the API key) it applies to; empty: every request.",
        )

    class AllowList(_Section):
        """Phrases the classifiers misread (e.g. a product name): removed before the prompt is read."""

        phrases: list[str] = Field(
            min_length=1,
            description="Phrases removed from what the prompt check reads; the rest of the prompt is "
            "still checked, and sexual/minors is always judged on the full prompt.",
        )
        organizations: list[str] = Field(
            default_factory=list,
            description="Organisations (of the API key) it applies to; empty: every request.",
        )

    enabled: bool = Field(
        True,
        description="Run the prompt and image classifiers. Turning them off is an explicit operator "
        "decision (a request can only pick `auto` or `low`); organisation rules apply either way.",
    )
    prompt_auto_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Probability that a prompt violates at all (clear or borderline) at which "
        "`moderation: auto` blocks it (besides everything `low` blocks).",
    )
    prompt_low_threshold: float = Field(
        0.4,
        gt=0,
        le=1,
        description="Probability that a prompt is a clear violation at which it is blocked at both levels.",
    )
    image_auto_threshold: float = Field(
        0.5, gt=0, le=1, description="open_nsfw score at which an image is blocked under `auto`."
    )
    image_low_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="open_nsfw score at which an image is blocked under `low` (at least the `auto` one).",
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="Organisation rules, as `[[moderation.rules]]` tables: `name`, `terms` (phrases that "
        "block), `reason` (what the client reads) and optional `organizations` (default: every request). "
        "They block at every level, even with `enabled = false`, and the verdict names the rule.",
    )
    allow: list[AllowList] = Field(
        default_factory=list,
        description="Allow-lists that override false positives, as `[[moderation.allow]]` tables: `phrases` "
        "and optional `organizations`. The phrases are removed before the prompt check reads the prompt; "
        "the rest is still checked, and sexual/minors always on the full prompt.",
    )

    @model_validator(mode="after")
    def _check_image_thresholds(self) -> ModerationSettings:
        if self.image_auto_threshold > self.image_low_threshold:
            raise ValueError("`image_auto_threshold` may not exceed `image_low_threshold`")
        return self


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
