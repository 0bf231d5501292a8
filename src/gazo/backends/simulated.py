"""A simulated accelerator: a backend whose batch of n images takes `setup_s + per_image_s * n` seconds
of GIL-free waiting, so the engine's efficiency (queueing, batching, the work after the denoiser) can
be measured on any CPU against an ideal that is known exactly.

Nothing is computed while it "renders": the wait is `time.sleep`, which releases the GIL as a GPU
does while it computes, spread over the quality's steps so progress, previews and cancellation behave
as on a real model. What a real pipeline does need the GIL for is launching each step's kernels from
Python (some 1,000 a UNet step, 10-20 ms): `launch_s` models that as pure-Python work at the start of
each step, overlapped with the step's device time as CUDA's asynchronous launches are. Uncontended it
costs nothing; when other threads of the process hold the GIL, the launches fall behind and the step
takes longer, which is how a server's own CPU work starves a real accelerator.

Its pictures are made to cost what real pictures cost after the denoiser: smooth colour fields with
fine grain, which PNG compresses about as much as a photograph (a flat or a pure
noise image would make encoding far cheaper or dearer than in production). A few are drawn per size
on first use and then handed out, so the CPU does no work a GPU would have done.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Hashable
from typing import Any

import numpy as np
from PIL import Image
from pydantic import Field

from gazo import plugins
from gazo.backends.base import BackendOptions, Capabilities, ImageBackend
from gazo.errors import Cancelled
from gazo.jobs import GenerateJob, ProgressFn, Quality, Size

#: Distinct pictures drawn per size; a job's seed picks among them.
_VARIANTS = 4


class SimulatedOptions(BackendOptions):
    setup_s: float = Field(0.15, ge=0, description="Seconds every batch takes whatever its size (`a`).")
    per_image_s: float = Field(0.12, ge=0, description="Seconds each image of a batch adds (`b`).")
    steps: dict[Quality, int] = Field(
        default_factory=lambda: dict[Quality, int]({"low": 8, "medium": 20, "high": 30}),
        description="Steps per quality the batch's time is spread over (progress and cancellation).",
    )
    max_batch_images: int | None = Field(8, ge=1, le=64, description="Most images one batch carries.")
    launch_s: float = Field(
        0.0,
        ge=0,
        description="Seconds of GIL-holding Python work each step needs to launch its kernels, overlapped "
        "with the step's device time (0 = none).",
    )
    weights_gb: float = Field(
        0.0, ge=0, description="GiB of weights it pretends to hold while loaded (the budget counts them)."
    )
    load_s: float = Field(0.0, ge=0, description="Seconds a load takes (reading weights, moving them).")


class SimulatedAcceleratorBackend(ImageBackend):
    """No model: timing of a GPU pipeline, pictures that encode like real ones."""

    capabilities = Capabilities(partial_images=True, max_pixels=4096 * 4096, max_side=4096)
    Options = SimulatedOptions
    options: SimulatedOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pictures: dict[tuple[int, int], list[Image.Image]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        options = self.options
        return (
            f"simulated accelerator (no model): a batch of n takes {options.setup_s:g} + "
            f"{options.per_image_s:g}*n s"
        )

    def load(self, device: str | None) -> None:
        time.sleep(self.options.load_s)
        self.picture(Size(1024, 1024), 0)  # the common size ready before the first request

    def memory_device(self) -> str:
        return self.context.device or "cpu"  # no real device: its pretend weights count against RAM

    def estimate_bytes(self) -> int:
        return round(self.options.weights_gb * 2**30)

    def batch_key(self, job: GenerateJob) -> Hashable | None:
        return (str(job.size), job.quality, job.background)

    def batch_limit(self) -> int:
        return self.options.max_batch_images or 1

    def generate(self, job: GenerateJob, progress: ProgressFn) -> list[Image.Image]:
        return self.generate_batch([job], [progress])[0]

    def generate_batch(self, jobs: list[GenerateJob], progress: list[ProgressFn]) -> list[list[Image.Image]]:
        """Wait `setup_s + per_image_s * images` over the steps; a cancelled job leaves the batch at once."""
        steps = max(1, self.options.steps[jobs[0].quality])
        seconds = self.options.setup_s + self.options.per_image_s * sum(job.n for job in jobs)
        live = list(range(len(jobs)))
        for step in range(1, steps + 1):
            device_done = time.monotonic() + seconds / steps
            _launch(self.options.launch_s)
            time.sleep(max(0.0, device_done - time.monotonic()))
            for index in list(live):
                job = jobs[index]
                try:
                    progress[index](step, steps, functools.partial(self._previews, job))
                except Cancelled:
                    live.remove(index)
            if not live:
                raise Cancelled()
        return [self._images(job) if index in live else [] for index, job in enumerate(jobs)]

    def picture(self, size: Size, variant: int) -> Image.Image:
        """One of the `_VARIANTS` pictures of `size`, drawn on first use."""
        key = (size.width, size.height)
        with self._lock:
            if key not in self._pictures:
                self._pictures[key] = [_draw(size, seed) for seed in range(_VARIANTS)]
            return self._pictures[key][variant % _VARIANTS]

    def _images(self, job: GenerateJob) -> list[Image.Image]:
        first = job.seed if job.seed is not None else 0
        return [self.picture(job.size, first + index).copy() for index in range(job.n)]

    def _previews(self, job: GenerateJob) -> list[Image.Image]:
        small = Size(max(16, job.size.width // 8), max(16, job.size.height // 8))
        return [image.resize((small.width, small.height)) for image in self._images(job)]


def _launch(seconds: float) -> None:
    """Hold the GIL for `seconds` of CPU time, in the small slices an interpreter runs between checks
    for a waiting thread (thread CPU time, so time spent waiting for the GIL does not count)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        sum(range(200))


def _draw(size: Size, seed: int) -> Image.Image:
    """Smooth colour fields (a few blurred blobs) with fine grain, as a photograph has."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    field = Image.fromarray(coarse, "RGB").resize((size.width, size.height), Image.Resampling.BICUBIC)
    grain = rng.normal(0.0, 5.0, size=(size.height, size.width, 3))
    pixels = np.clip(np.asarray(field, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


@plugins.hookimpl
def register_backends(register: plugins.RegisterBackend) -> None:
    register("simulated", SimulatedAcceleratorBackend)
