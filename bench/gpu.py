"""gazo on a real accelerator vs the same pipeline called in-process: the ceiling, eager and compiled.

One run, sized for 8 minutes on one H200 (SD 1.x widths with random weights, 512x512, 20 steps):
1. the in-process ceiling: `pipeline(prompt=[...] * b)` for batches 1/8/16, in float16 and bfloat16;
2. one `gazo serve` holding the same weights as several models, one per configuration: batches of at
   most 1, 8 and 16 images (eager, bfloat16), 8 in float16, and 8 compiled (buckets 1 and 8 at the
   size, compiled in the background from load on);
3. each driven with the async openai SDK at concurrency 1/8/32, reported against the ceiling: c1 as
   latency over the in-process batch-1 latency, c8/c32 as images/s over the in-process batch-8 rate.
The compiled model is measured last, after its graphs are ready; the slowest request it answered while
they compiled says whether anyone waited for a compiler.

    python -m bench.gpu                                  # on the GPU machine
    python -m bench.gpu --model tiny --device cpu --size 64x64 --steps 2 --levels 1,2 \\
        --compile-backend eager                          # the same run in a minute on any CPU
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from tests.support.server import GazoServer

from bench.realistic import save_realistic_sd
from bench.serve import LevelResult, drive, render_seconds
from gazo.backends.tiny import save_tiny_pipeline

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass(frozen=True)
class Ceiling:
    """In-process seconds per call and images/s, per (dtype, batch)."""

    seconds: dict[tuple[str, int], float]

    def images_per_s(self, dtype: str, batch: int) -> float:
        return batch / self.seconds[(dtype, batch)]


def measure_ceiling(folder: Path, args: argparse.Namespace, batches: list[int]) -> Ceiling:
    seconds: dict[tuple[str, int], float] = {}
    for dtype in args.dtypes.split(","):
        pipe = DiffusionPipeline.from_pretrained(folder, dtype=DTYPES[dtype]).to(args.device)
        pipe.set_progress_bar_config(disable=True)
        for batch in batches:
            seconds[(dtype, batch)] = time_batch(pipe, batch, args)
            print(
                f"in-process {dtype:<9} batch {batch:>2}: {seconds[(dtype, batch)]:.3f} s/call, "
                f"{batch / seconds[(dtype, batch)]:.2f} img/s",
                flush=True,
            )
        del pipe
        gc.collect()
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return Ceiling(seconds)


def time_batch(pipe: DiffusionPipeline, batch: int, args: argparse.Namespace) -> float:
    """Median seconds of one pipeline call with `batch` prompts, after a warm-up call."""
    width, height = (int(side) for side in args.size.split("x"))
    prompts = [f"a lighthouse, variation {index}" for index in range(batch)]
    runs = []
    for _ in range(args.repeats + 1):  # the first picks kernels and fills the memory pool
        started = time.perf_counter()
        pipe(prompt=prompts, num_inference_steps=args.steps, height=height, width=width)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs[1:])


def gazo_config(folder: Path, args: argparse.Namespace) -> tuple[str, list[tuple[str, int, str, bool]]]:
    """TOML with one model per configuration (name, batch, dtype, compiled), all on the same weights."""
    configurations = [
        ("b1", 1, "bfloat16", False),
        ("b8", 8, "bfloat16", False),
        ("b16", 16, "bfloat16", False),
        ("b8-fp16", 8, "float16", False),
        ("b8-compiled", 8, "bfloat16", True),
    ]
    if args.device == "cpu":
        configurations = [(name, batch, "float32", compiled) for name, batch, _, compiled in configurations]
    text = "[engine]\nqueue_size = 256\n"
    for name, batch, dtype, compiled in configurations:
        text += (
            f'[[models]]\nname = "{name}"\nbackend = "diffusers"\nsource = "{folder}"\n'
            f'device = "{args.device}"\ndtype = "{dtype}"\n[models.options]\n'
            f'steps = {{ low = {args.steps} }}\ndefault_quality = "low"\ndefault_size = "{args.size}"\n'
            f"max_batch_images = {batch}\n"
        )
        if compiled:
            text += (
                f'compile = true\ncompile_backend = "{args.compile_backend}"\n'
                f'compile_mode = "{args.compile_mode}"\n'
                f'compile_sizes = ["{args.size}"]\ncompile_batches = [1, {batch}]\n'
            )
    return text, configurations


def measure_gazo(server: GazoServer, model: str, args: argparse.Namespace) -> tuple[list[LevelResult], float]:
    """Each level's result, and the mean seconds one batch of this model took to render meanwhile."""

    async def levels() -> list[LevelResult]:
        await drive(server.base_url, 1, 2, args.size, model)  # warm-up
        return [
            await drive(server.base_url, level, max(args.min_requests, 3 * level), args.size, model)
            for level in args.levels
        ]

    before = render_seconds(server.base_url, model)
    results = asyncio.run(levels())
    after = render_seconds(server.base_url, model)
    return results, (after[0] - before[0]) / max(1.0, after[1] - before[1])


def wait_for_compiles(server: GazoServer, args: argparse.Namespace) -> float:
    """Drive the compiled model at concurrency 1 until its graphs serve (its latency drops and holds),
    or `--compile-wait-s`; return the slowest request seen meanwhile."""
    deadline = time.monotonic() + args.compile_wait_s
    slowest = 0.0
    while time.monotonic() < deadline:
        result = asyncio.run(drive(server.base_url, 1, 2, args.size, "b8-compiled"))
        slowest = max(slowest, result.p95_s)
        if server.log().count("compiled a denoiser bucket") >= 2:  # the two named buckets
            break
    return slowest


def report(name: str, results: list[LevelResult], render_s: float, ceiling: Ceiling, dtype: str) -> None:
    print(f"gazo {name:<12} mean render per batch {render_s:.3f} s (in-process batch 8: "
          f"{ceiling.seconds[(dtype, 8)]:.3f} s)", flush=True)
    batch1 = ceiling.seconds[(dtype, 1)]
    batch8 = ceiling.images_per_s(dtype, 8)
    for result in results:
        if result.concurrency == 1:
            ratio = f"{result.p50_s / batch1:.2f}x the batch-1 latency"
        else:
            ratio = f"{100 * result.images_per_s / batch8:.0f}% of the batch-8 rate"
        print(
            f"gazo {name:<12} c{result.concurrency:<3} {result.images_per_s:7.2f} img/s  "
            f"p50 {result.p50_s:6.3f} s  p95 {result.p95_s:6.3f} s  {ratio}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=("realistic", "tiny"), default="realistic")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", default="512x512")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--levels", default="1,8,32", type=lambda text: [int(x) for x in text.split(",")])
    parser.add_argument("--dtypes", default="float16,bfloat16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-requests", type=int, default=8)
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--compile-mode", default="default")
    parser.add_argument("--compile-wait-s", type=float, default=240.0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gazo-bench-gpu")
    args = parser.parse_args()
    if args.device == "cpu":
        args.dtypes = "float32"
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    folder = args.work / f"model-{args.model}"
    if args.model == "tiny":
        save_tiny_pipeline("sd", folder) if not (folder / "model_index.json").exists() else None
    else:
        with torch.device(args.device):  # random weights drawn on the device: seconds, not minutes
            save_realistic_sd(folder)
    print(f"== {args.model} on {args.device}, {args.size}, {args.steps} steps ==", flush=True)
    ceiling = measure_ceiling(folder, args, [1, 8, 16])
    ceiling_dtype = "float32" if args.device == "cpu" else "bfloat16"
    text, configurations = gazo_config(folder, args)
    (args.work / "gazo.toml").write_text(text)
    server = GazoServer(args.work / "data", config=args.work / "gazo.toml")
    server.start(timeout_s=600)  # five models to load
    measured: dict[str, list[LevelResult]] = {}
    try:
        for name, _batch, dtype, compiled in configurations:
            if compiled:
                slowest = wait_for_compiles(server, args)
                print(f"gazo {name}: slowest request while compiling {slowest:.2f} s", flush=True)
            measured[name], render_s = measure_gazo(server, name, args)
            report(name, measured[name], render_s, ceiling, dtype if dtype in args.dtypes else ceiling_dtype)
    finally:
        server.stop()
    speedups = ", ".join(
        f"c{compiled.concurrency} {compiled.images_per_s / eager.images_per_s:.2f}x"
        for compiled, eager in zip(measured["b8-compiled"], measured["b8"], strict=True)
    )
    print(f"compiled vs eager (batches of 8), images/s: {speedups}")
    print(f"whole run: {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
