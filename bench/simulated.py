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
LEVELS = ((1, 6), (8, 40), (32, 96))

_CONFIG = """
[engine]
queue_size = 256
[[models]]
name = "sim"
backend = "simulated"
source = "simulated"
[models.options]
setup_s = {setup}
per_image_s = {per_image}
max_batch_images = {batch}
default_quality = "low"
"""


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
    config.write_text(_CONFIG.format(setup=SETUP_S, per_image=PER_IMAGE_S, batch=MAX_BATCH))
    print(f"\n== simulated accelerator: a batch of n <= {MAX_BATCH} takes {SETUP_S} + {PER_IMAGE_S}*n s ==")
    print(f"{'size':<11}{'conc':>5}{'img/s':>9}{'ideal':>9}{'p50 s':>8}{'ideal s':>9}{'vs ideal':>10}")
    with GazoServer(work / "data-sim", config=config) as server:
        for size in SIZES:
            asyncio.run(drive(server.base_url, 1, 2, size))  # warm: the size's pictures are drawn once
            for concurrency, requests in LEVELS:
                result = asyncio.run(drive(server.base_url, concurrency, requests, size))
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
