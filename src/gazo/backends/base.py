"""The backend contract: turning a job into pixels, and nothing else (no HTTP, keys, money or policy).

A backend is constructed with its :class:`~gazo.settings.ModelSpec` and validated ``Options``; the
engine calls :meth:`ImageBackend.load` once per worker, then :meth:`generate` / :meth:`edit` per job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from gazo.errors import Cancelled, UnsupportedParameter
from gazo.jobs import EditJob, GenerateJob, ProgressFn, Quality
from gazo.settings import AdapterSpec

#: How quoted and `text` strings are drawn (see `Capabilities.text`).
TextMode = Literal["native", "typeset+harmonise", "typeset", "none"]
#: How an edit uses its images after the first (see `Capabilities.references`).
ReferenceMode = Literal["native", "ip-adapter", "init+colour", "placed+palette", "none"]
#: The name of a `Capabilities` field.
CapabilityName = Literal[
    "generate",
    "edit",
    "mask",
    "max_input_images",
    "partial_images",
    "transparent_background",
    "text",
    "references",
    "qualities",
    "size_multiple",
    "min_side",
    "max_side",
    "max_pixels",
]


class Capabilities(BaseModel):
    """What a backend can do, declared as data so the service can refuse what it cannot.

    A frozen pydantic model rather than a dict so that every reader is type-checked, and so that it
    crosses the Ray process boundary as it is (pydantic models pickle).
    """

    model_config = ConfigDict(frozen=True)

    generate: bool = True
    edit: bool = False
    mask: bool = False
    max_input_images: int = Field(1, description="Images an edit may carry (the first is edited).")
    partial_images: bool = False
    transparent_background: bool = False
    text: TextMode = Field(
        "none",
        description="How quoted and `text` strings are drawn: `native` (the model sets them exactly), "
        "`typeset+harmonise` (typeset by gazo, blended in by the model around letters it cannot change), "
        "`typeset` (typeset only) or `none` (left to the model).",
    )
    references: ReferenceMode = Field(
        "none",
        description="How an edit uses its images after the first: `native` (the model takes several "
        "images), `ip-adapter`, `init+colour` (the first image is the init image, the others steer its "
        "colours), `placed+palette` (placed into the picture and its palette) or `none`.",
    )
    qualities: tuple[Quality, ...] = ("low", "medium", "high")
    size_multiple: int = Field(16, description="Width and height must be multiples of this.")
    min_side: int = 64
    max_side: int = 3840
    max_pixels: int = 3840 * 2160


class BackendOptions(BaseModel):
    """Per-model options from the `[models.options]` table; subclasses add fields with descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_size: str = Field("1024x1024", description="Size used for `size: auto` on generations.")
    default_quality: Quality = Field("medium", description="Quality used for `quality: auto`.")
    max_batch_images: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Most images one forward pass may carry when compatible requests are batched "
        "(1 = no batching). Default: the backend's choice for its device (diffusers: 4 on a CPU, "
        "8 on an accelerator); measure with bench/serve.py --batch.",
    )
    batch_window_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="How long a job waits for compatible jobs to batch with; 0 = batch only what is "
        "already queued (no added latency).",
    )


@dataclass(frozen=True)
class BackendContext:
    """What the deployment tells every backend: where downloads live and whether a hub may be reached."""

    cache_dir: Path
    offline: bool = False
    dtype: str = "auto"
    device: str | None = None
    #: The model's LoRA adapters (`[[models.adapters]]`), loaded by backends that `accepts_adapters`.
    adapters: tuple[AdapterSpec, ...] = ()
    #: Requests may pick those adapters and their weights (`ModelSpec.request_adapters`).
    request_adapters: bool = False


class ImageBackend(ABC):
    """A model that renders images. Subclasses declare `capabilities`, the capabilities only their
    `load` can tell (`decided_at_load`) and an `Options` class."""

    #: What the backend can do, declared on the class; each instance narrows it once by its options
    #: (`configured_capabilities`, at construction) and once by its load (`settle`, `decided_at_load`
    #: only), never anywhere else.
    capabilities: Capabilities = Capabilities()
    #: Capabilities that depend on the weights, so only `load` can tell them (e.g. whether a diffusers
    #: pipeline has an inpainting sibling). Until the load ends, the engine reports them as pending and a
    #: request that depends on one is answered 503 `model_loading` instead of being judged by a guess.
    decided_at_load: ClassVar[frozenset[CapabilityName]] = frozenset()
    Options: ClassVar[type[BackendOptions]] = BackendOptions
    #: Whether it applies a job's LoRA `adapters` (configuring adapters on any other backend is refused).
    accepts_adapters: ClassVar[bool] = False

    def __init__(self, name: str, source: str, options: BackendOptions, context: BackendContext) -> None:
        self.name = name
        self.source = source
        self.options = options
        self.context = context
        #: Set once here from the configuration, and once more by `settle` for `decided_at_load`.
        self.capabilities = self.configured_capabilities()

    def configured_capabilities(self) -> Capabilities:
        """The class's `capabilities` as this model's options narrow them (sizes, qualities); computed
        before any load, so that requests sent while the model loads are checked against them."""
        return type(self).capabilities

    def settle(self, **decided: object) -> None:
        """Record the `decided_at_load` capabilities, from `load`; any other field is a bug (it would
        change a capability requests were already checked against), so it raises."""
        unexpected = set(decided) - set(self.decided_at_load)
        if unexpected:
            raise ValueError(f"{type(self).__name__}.load may not change {sorted(unexpected)}")
        self.capabilities = Capabilities.model_validate({**self.capabilities.model_dump(), **decided})

    def describe(self) -> str:
        """One line for `/v1/models` and provenance: what this model really is."""
        return f"{type(self).__name__} {self.source}"

    @abstractmethod
    def load(self, device: str | None) -> None:
        """Load weights before the first job (again after `unload`); may take minutes for real models."""

    def unload(self) -> None:  # noqa: B027 (optional: a backend that holds nothing keeps this one)
        """Give back the memory `load` took, so that another model fits; `load` may be called again.
        The default holds nothing worth giving back."""

    def memory_device(self) -> str:
        """The device whose memory budget the weights count against (`cuda:0`, `cpu`, ...)."""
        from gazo.backends.devices import best_device, normalised_device  # torch: only where models run

        return normalised_device(self.context.device or best_device())

    def estimate_bytes(self) -> int:
        """Memory the weights will take once loaded, told from their files before loading (0 = unknown:
        the model then counts from its measure once loaded)."""
        return 0

    def resident_bytes(self) -> int:
        """Memory the loaded weights take, measured; the default trusts the estimate."""
        return self.estimate_bytes()

    @abstractmethod
    def generate(self, job: GenerateJob, progress: ProgressFn) -> list[Image.Image]:
        """Return `job.n` images of exactly `job.size`, reporting every step to `progress`."""

    def batch_key(self, job: GenerateJob) -> Hashable | None:
        """Jobs with equal keys may share one forward pass; None = never batch this job."""
        return None

    def batch_limit(self) -> int:
        """Most images per forward pass: the configured value, else what pays on this backend's device."""
        return self.options.max_batch_images or 1

    def generate_batch(self, jobs: list[GenerateJob], progress: list[ProgressFn]) -> list[list[Image.Image]]:
        """Render several compatible jobs together; each keeps its own seed, previews and images.

        The default runs them one after another; backends that can batch override it. A job whose
        `progress` raises `Cancelled` is dropped; the batch stops only when every job is cancelled.
        """
        results: list[list[Image.Image]] = []
        for job, report in zip(jobs, progress, strict=True):
            try:
                results.append(self.generate(job, report))
            except Cancelled:
                results.append([])
        return results

    def edit(self, job: EditJob, progress: ProgressFn) -> list[Image.Image]:
        """Return `job.n` edits of `job.images[0]` of exactly `job.size` (mask already resized)."""
        raise UnsupportedParameter(f"The model `{self.name}` cannot edit images.", param="image")
