"""Settings of how gazo serves: the HTTP server and its limits, the models, the engine, Ray Serve."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from gazo.settings.section import Section, parse_duration


class ServerSettings(Section):
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
        "edits may carry `max_input_images` x `max_upload_bytes` + `max_mask_bytes` + 1 MiB, variations "
        "and verification one upload + 1 MiB, `/v1/responses` (images as base64 data URLs) 4/3 of one "
        "upload + 1 MiB. Enforced "
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
    output_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Threads that finish rendered images (output moderation, encoding, signing) side by "
        "side, while the model renders the next batch; default: the machine's cores, at most 8.",
    )
    png_level: int = Field(
        6,
        ge=1,
        le=12,
        description="libdeflate level of PNG output: 6 encodes a 1024x1024 photo in about 27 ms on one core "
        "at the size of Pillow's default (147 ms); 1 saves 5 ms for 2% more bytes. PNG stays lossless.",
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


#: Bounds of an adapter's weight, configured or per request: past them a LoRA only breaks the picture.
ADAPTER_WEIGHT_MIN, ADAPTER_WEIGHT_MAX = -4.0, 4.0


class AdapterSpec(Section):
    """A LoRA adapter of a model (`[[models.adapters]]`), published as a model name of its own: a request
    for that name renders on its base model with the adapter applied at `weight` (a brand style)."""

    name: str = Field(
        min_length=1, description="The adapter's model name in the API (`model` field, `/v1/models`)."
    )
    source: str = Field(
        min_length=1,
        description="Hugging Face hub id, local folder, or a single `.safetensors` file of LoRA weights.",
    )
    weight: float = Field(
        1.0,
        ge=ADAPTER_WEIGHT_MIN,
        le=ADAPTER_WEIGHT_MAX,
        description="How strongly the adapter applies (0 = not at all, 1 = as trained).",
    )
    description: str | None = Field(None, description="Shown in `/v1/models`; default: its source.")


class ModelSpec(Section):
    """One servable model: which backend loads it, from where, and under which names."""

    name: str = Field(description="The model's name in the API (`model` field, `/v1/models`).")
    backend: str = Field("diffusers", description="Registered backend that loads it (`diffusers`, ...).")
    source: str = Field(
        description="Hugging Face hub id or local folder passed to `from_pretrained`, or one checkpoint "
        "file (`.safetensors`/`.ckpt`: a local path or `owner/repo/file.safetensors` in gazo's cache)."
    )
    aliases: list[str] = Field(default_factory=list, description="Other names that select this model.")
    device: str | None = Field(
        None, description="`cuda`, `cuda:1`, `mps` or `cpu`; default: the best available."
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights dtype; `auto` = bf16 (or fp16) on GPUs, fp32 on CPU."
    )
    adapters: list[AdapterSpec] = Field(
        default_factory=list,
        description="LoRA adapters of this model, each served under its own name (diffusers backend).",
    )
    request_adapters: bool = Field(
        False,
        description="Let a request pick this model's adapters and weights itself (`lora` in the body: "
        "names of configured adapters only, never a path).",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Backend-specific options, validated by the backend's own `Options` class "
        "(e.g. `steps = {low = 12, medium = 25, high = 40}`).",
    )
    preload: bool = Field(
        True,
        description="Load at start, when it fits the memory budget beside the models listed before it; "
        "`false` (or not fitting): load on its first request.",
    )
    keep_alive: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="Unload after this long without a request: seconds, or a duration such as `\"5m\"`, "
        "`\"1h\"`; default: stay loaded until another model needs the memory.",
    )

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value


class EngineSettings(Section):
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
    memory_budget_gb: float | None = Field(
        None,
        gt=0,
        description="Memory the models' weights may take on each device (GiB). Default: the device's "
        "memory (RAM on a CPU) less `memory_headroom_gb`. Past it, the least recently used idle model "
        "unloads before another loads; a model larger than the whole budget stops `gazo serve`.",
    )
    memory_headroom_gb: float = Field(
        2.0,
        ge=0,
        description="Memory left out of the default budget for what is not weights: activations of a "
        "forward pass (they grow with batch and size), the CUDA context, the process itself.",
    )
    swap_after_s: float = Field(
        5.0,
        ge=0,
        description="How long a request for an unloaded model waits behind another model's queued work "
        "before that model is unloaded between two of its passes to make room (0 = at once: fairest, "
        "but two busy models then swap at every pass).",
    )
    batch_swap_idle_s: float = Field(
        60.0,
        ge=0,
        description="Batch lines (`/v1/batches`) for an unloaded model unload another model only if it "
        "has had no work for this long, and make no busy one step aside, for up to this long; then they "
        "ask for room as interactive requests do (`swap_after_s`). Batch work thus costs the model "
        "interactive users are on at most one swap this often.",
    )


class RaySettings(Section):
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
