"""The engine interface: where and when a job runs, kept apart from how requests arrive.

The service talks only to this protocol, so the in-process engine and the Ray Serve engine are
interchangeable and the HTTP layer never learns where a model runs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from gazo.backends.base import Capabilities, CapabilityName
from gazo.engine.admission import Admission
from gazo.jobs import Job, Priority, Progress, Quality, RenderedImage
from gazo.settings import AdapterSpec

__all__ = ["AdapterInfo", "Capabilities", "CapabilityName", "Engine", "EngineHealth", "ModelInfo"]


class AdapterInfo(BaseModel):
    """A LoRA adapter of a model, as `/v1/models` and the request checks see it."""

    model_config = ConfigDict(frozen=True)

    weight: float
    description: str


def adapter_info(spec: AdapterSpec, model: str) -> AdapterInfo:
    return AdapterInfo(
        weight=spec.weight, description=spec.description or f"LoRA adapter {spec.source} on {model}"
    )


class ModelInfo(BaseModel):
    """What the service needs to know about a model to validate a request for it.

    A frozen pydantic model, like its `Capabilities`, so that it is checked where it is built and
    crosses the Ray process boundary (gateway ← replica) as it is.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    capabilities: Capabilities
    default_size: str
    default_quality: Quality
    #: Capabilities the model's load has still to decide (its backend's `decided_at_load`, until the
    #: load ends): their values in `capabilities` are placeholders that no request may be judged by.
    pending: frozenset[CapabilityName] = frozenset()
    #: The model's LoRA adapters by name; a request naming one of them as its `model` renders on this
    #: model with that adapter at its configured weight.
    adapters: dict[str, AdapterInfo] = Field(default_factory=dict)
    #: Requests may pick adapters and weights themselves (`lora`), among `adapters` only.
    request_adapters: bool = False


class ModelResidency(BaseModel):
    """Where a model's weights are, for `/v1/models` and `gazo models list`."""

    model_config = ConfigDict(frozen=True)

    status: Literal["loading", "ready", "unloaded", "failed"]
    #: Its weights' memory: measured once loaded, else told from its files (None: unknown yet).
    memory_bytes: int | None = None
    last_used_at: int | None = None  # Unix time of its last pass's end, or of its load if later


@dataclass(frozen=True)
class EngineHealth:
    ready: bool
    models: dict[str, str] = field(default_factory=dict)
    queue_depth: dict[str, int] = field(default_factory=dict)
    #: Per device: `budget_bytes` and `used_bytes` of the models' weights (the in-process engine).
    memory: dict[str, dict[str, int]] = field(default_factory=dict)


class Engine(Protocol):
    """Runs jobs on models. Implementations: :class:`gazo.engine.local.LocalEngine` (in-process) and
    :class:`gazo.engine.ray.RayEngine` (Ray Serve replicas)."""

    async def start(self) -> None:
        """Begin loading models; returns at once (readiness is reported by :meth:`health`)."""

    async def close(self) -> None:
        """Stop taking jobs, cancel waiting ones and release devices."""

    def resolve(self, model: str | None) -> ModelInfo:
        """The model a request's `model` field selects; raises `ModelNotFound`. While the model loads,
        the capabilities its load decides are listed in `ModelInfo.pending`."""

    def models(self) -> list[tuple[str, str]]:
        """Every (id, model) pair clients may name: real models map to themselves, aliases to theirs."""

    def residency(self) -> dict[str, ModelResidency]:
        """Per real model: loaded or not, its memory, its last use."""

    def warm(self, model: str) -> None:
        """Start loading `model` in the background if it is unloaded (returns at once): a request that
        depends on what its load decides is refused with 503 `model_loading` and finds it loaded when
        its client retries."""

    def admit(self, model: str) -> Admission:
        """A place in `model`'s line, taken before the request is checked, charged or written down.

        Raises `Overloaded` at once when the line is full (`Unavailable` when the model failed to
        load). The caller releases the place when its request ends, however it ends; handing it to
        :meth:`render` lets the engine release it earlier, once the model takes the job.
        """

    def render(
        self, job: Job, admission: Admission | None = None, *, priority: Priority = "interactive"
    ) -> AsyncGenerator[Progress | RenderedImage, None]:
        """Run `job`; yields progress (with previews when asked) and then each finished image.

        `priority="batch"` (a line of `/v1/batches`) runs only in capacity interactive jobs leave: it
        takes no place in the line (never refused with `Overloaded`, never the cause of a 429; an
        `admission` handed in is released at once), waits behind every interactive job, is batched
        with other batch lines only, and a pass of them leaves off at its next step when an
        interactive job arrives, to run again from the start (steps already reported are not
        repeated). Pace batch lines with :meth:`batch_room`; the caller's time limit still applies.

        The first event, `Progress(step=0)`, says the job was admitted to a queue. Without an
        `admission` the job takes its place in the line here, raising `Overloaded` at once when the
        line is full. Closing the generator early (`aclose`: client gone, timeout) cancels the job at
        its next denoising step; a generator rather than any iterator so that callers can close it.
        """

    def batch_room(self, model: str) -> int:
        """How many more batch images to hand `model` now without delaying interactive work.

        A batch line counts its `n` images from the call to :meth:`render` (so, through the service,
        once `ImageService.submit` returns) until its event stream ends, however it ends. The room is
        0 while interactive requests wait for `model` (or it is not ready); otherwise enough for the
        model to render one full pass of batch lines with the next one queued behind it, less the
        batch images already in flight, counted over every caller of this engine.

        A runner keeps lines flowing like this: ask, submit lines while the answer is positive (a
        line of `n` images takes `n`; the last may overshoot), wait until each of those `submit`
        calls has returned, then ask again when one of its lines ends, or after a short pause
        (about a second) when the answer was 0. Synchronous and cheap: call it from the event loop.
        """

    def metrics_text(self) -> bytes:
        """Prometheus exposition of the engine's metrics."""

    def health(self) -> EngineHealth:
        """Readiness and queue depth per model."""
