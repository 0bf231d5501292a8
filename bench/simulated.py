"""gazo on a simulated accelerator vs the ideal: how much of an accelerator's time gazo would waste.

The `simulated` backend takes `a + b*n` seconds of GIL-free waiting for a batch of n (a = 0.15 s,
b = 0.12 s, at most 8 images a batch, as an SD-1.x-class model on a GPU), so the ideal is known
exactly: a lone request takes a + b, and a full line of requests is served at 8 / (a + 8b) images/s.
Everything gazo adds (HTTP, queueing, batching, output moderation, PNG encoding, C2PA signing,
base64) shows as the distance from it. Run through `python -m bench.serve --models sim`.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import GazoServer

SETUP_S = 0.15
PER_IMAGE_S = 0.12
MAX_BATCH = 8
SIZES = ("512x512", "1024x1024")
#: (concurrency, requests): enough requests at each level for several full batches.
LEVELS = ((1, 16), (8, 40), (32, 96))

#: Seconds of GIL-holding launch work per step for the `sim-launch` model: what a UNet step's ~1,000
#: kernel launches cost a CPU (10-20 ms), against a step of 34 ms alone and 130 ms in a full batch here.
LAUNCH_S = 0.012

_MODEL = """
[[models]]
name = "{name}"
backend = "simulated"
source = "simulated"
[models.options]
setup_s = {setup}
per_image_s = {per_image}
max_batch_images = {batch}
launch_s = {launch}
default_quality = "low"
"""


def _config() -> str:
    """`sim` (the headline), `sim-b1` (batching off, for the lone-request comparison) and `sim-launch`
    (steps that need the GIL to launch, for the contention a real accelerator sees)."""
    models = [("sim", MAX_BATCH, 0.0), ("sim-b1", 1, 0.0), ("sim-launch", MAX_BATCH, LAUNCH_S)]
    return "[engine]\nqueue_size = 256\n" + "".join(
        _MODEL.format(name=name, setup=SETUP_S, per_image=PER_IMAGE_S, batch=batch, launch=launch)
        for name, batch, launch in models
    )


@dataclass(frozen=True)
class Ideal:
    """What a perfect server in front of this accelerator would do."""

    setup_s: float = SETUP_S
    per_image_s: float = PER_IMAGE_S
    max_batch: int = MAX_BATCH

    def latency(self) -> float:
        return self.setup_s + self.per_image_s

    def images_per_s(self, concurrency: int) -> float:
        batch = min(concurrency, self.max_batch)
        return batch / (self.setup_s + self.per_image_s * batch)


def bench_simulated(args: argparse.Namespace, work: Path) -> None:
    from bench.serve import drive  # the same async-SDK load generator as the diffusers benchmark

    ideal = Ideal()
    config = work / "sim.toml"
    config.write_text(_config())
    print(f"\n== simulated accelerator: a batch of n <= {MAX_BATCH} takes {SETUP_S} + {PER_IMAGE_S}*n s ==")
    print(f"{'size':<11}{'conc':>5}{'img/s':>9}{'ideal':>9}{'p50 s':>8}{'ideal s':>9}{'vs ideal':>10}")
    with GazoServer(work / "data-sim", config=config) as server:
        for size in SIZES:
            for model in ("sim", "sim-b1", "sim-launch"):  # warm: the size's pictures are drawn once
                asyncio.run(drive(server.base_url, 1, 2, size, model))
            for concurrency, requests in LEVELS:
                result = asyncio.run(drive(server.base_url, concurrency, requests, size, "sim"))
                if concurrency == 1:  # a lone request: latency is what counts
                    ratio = f"{result.p50_s / ideal.latency():.2f}x lat"
                else:  # a crowd: throughput is what counts
                    ratio = f"{100 * result.images_per_s / ideal.images_per_s(concurrency):.0f}% thr"
                print(
                    f"{size:<11}{concurrency:>5}{result.images_per_s:>9.2f}"
                    f"{ideal.images_per_s(concurrency):>9.2f}{result.p50_s:>8.3f}{ideal.latency():>9.3f}"
                    f"{ratio:>10}",
                    flush=True,
                )
            lone = asyncio.run(drive(server.base_url, 1, LEVELS[0][1], size, "sim-b1"))
            print(f"{size:<11}    1  batching off (max_batch_images 1): p50 {lone.p50_s:.3f} s", flush=True)
            contended(server, size, ideal)


def contended(server: GazoServer, size: str, ideal: Ideal) -> None:
    """c32 on steps that need the GIL to launch: throughput, and how much longer each batch rendered
    than on an idle process (gazo's own CPU work starving the launches)."""
    from bench.serve import drive, render_seconds

    concurrency, requests = LEVELS[-1]
    before, batches_before = render_seconds(server.base_url, "sim-launch"), _batched_images(server)
    result = asyncio.run(drive(server.base_url, concurrency, requests, size, "sim-launch"))
    after, batches_after = render_seconds(server.base_url, "sim-launch"), _batched_images(server)
    batches = max(1.0, after[1] - before[1])
    mean_batch = (batches_after[0] - batches_before[0]) / max(1.0, batches_after[1] - batches_before[1])
    expected = ideal.setup_s + ideal.per_image_s * mean_batch
    print(
        f"{size:<11}{concurrency:>5}  launches need the GIL: {result.images_per_s:.2f} img/s "
        f"({100 * result.images_per_s / ideal.images_per_s(concurrency):.0f}% thr); a batch of "
        f"{mean_batch:.1f} rendered in {(after[0] - before[0]) / batches:.3f} s vs {expected:.3f} s alone",
        flush=True,
    )


def _batched_images(server: GazoServer) -> tuple[float, float]:
    """`gazo_batch_size` of `sim-launch`: (sum, count), i.e. jobs batched and batches."""
    from tests.support.metrics import metric

    label = 'model="sim-launch"'
    return metric(server, "gazo_batch_size_sum", label), metric(server, "gazo_batch_size_count", label)
