"""gazo vs a plain diffusers loop behind FastAPI: same model, same machine, same run.

Both are driven with the async openai SDK at several concurrency levels. Prints images/s,
p50/p95 latency, the gazo/baseline ratios, gazo's time to first partial image, and gazo's own
overhead per image (HTTP, encode, sign, queueing) as a share of model time.

    python -m bench.serve                       # tiny + realistic-width SD at 256 px, 4 steps
    python -m bench.serve --models tiny --levels 1,4,16 --batch 1,4
    python -m bench.serve --models tiny --batch 1 --ray-replicas 1,2   # also on Ray Serve
    python -m bench.serve --models tiny --batch 4 --torch-threads default,1   # gazo's thread count
    python -m bench.serve --models sim          # a simulated accelerator: gazo vs the ideal
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
from tests.support.server import GazoServer, free_port, wait_until_ready

from bench.config import model_config
from bench.ray_replicas import ray_gazo
from bench.realistic import save_realistic_sd
from bench.simulated import bench_simulated
from gazo.backends.tiny import save_tiny_pipeline


@dataclass
class LevelResult:
    concurrency: int
    requests: int
    images_per_s: float
    p50_s: float
    p95_s: float


async def drive(
    base_url: str, concurrency: int, requests: int, size: str, model: str | None = None
) -> LevelResult:
    async with client(base_url) as sdk:
        return await _drive(sdk, concurrency, requests, size, model)


def client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="bench", max_retries=0, timeout=3600)


async def _drive(
    sdk: openai.AsyncOpenAI, concurrency: int, requests: int, size: str, model: str | None
) -> LevelResult:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(index: int) -> None:
        async with gate:
            started = time.perf_counter()
            result = await sdk.images.generate(
                prompt=f"a lighthouse, variation {index}",
                size=size,
                quality="low",
                model=model or openai.omit,
            )
            assert result.data and result.data[0].b64_json
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(requests)))
    wall = time.perf_counter() - started
    latencies.sort()
    return LevelResult(
        concurrency,
        requests,
        requests / wall,
        statistics.median(latencies),
        latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
    )


async def time_to_first_partial(base_url: str, size: str) -> float:
    async with client(base_url) as sdk:
        started = time.perf_counter()
        stream = await sdk.images.generate(
            prompt="a fox", size=size, quality="low", stream=True, partial_images=1
        )
        first = None
        async for _event in stream:
            first = first or time.perf_counter() - started
        return first or float("nan")


def render_seconds(base_url: str, model: str = "bench") -> tuple[float, float]:
    """`gazo_render_seconds` of `model` from /metrics: (sum, count) of its batches' render times."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("gazo_render")
    }
    return values.get(f'gazo_render_seconds_sum{{model="{model}"}}', 0.0), values.get(
        f'gazo_render_seconds_count{{model="{model}"}}', 0.0
    )


def print_rows(system: str, results: list[LevelResult], base: list[LevelResult]) -> None:
    """One table row per concurrency level, with the throughput ratio to the baseline's same level."""
    for result, reference in zip(results, base, strict=True):
        print(
            f"{system:<22}{result.concurrency:>5}{result.images_per_s:>9.2f}"
            f"{result.p50_s:>9.3f}{result.p95_s:>9.3f}"
            f"{result.images_per_s / reference.images_per_s:>9.2f}"
        )


def requests_for(concurrency: int, minimum: int) -> int:
    return max(minimum, 2 * concurrency)


async def run_levels(base_url: str, levels: list[int], minimum: int, size: str) -> list[LevelResult]:
    await drive(base_url, 1, 1, size)  # warm-up
    return [await drive(base_url, c, requests_for(c, minimum), size) for c in levels]


async def measure_gazo(
    base_url: str, levels: list[int], minimum: int, size: str
) -> tuple[list[LevelResult], float, float, float]:
    """Levels, time to first partial, p50 latency at concurrency 1, and mean model time per image."""
    results = await run_levels(base_url, levels, minimum, size)
    ttfp = await time_to_first_partial(base_url, size)
    before_sum, before_count = render_seconds(base_url)
    single = await drive(base_url, 1, minimum, size)
    after_sum, after_count = render_seconds(base_url)
    return results, ttfp, single.p50_s, (after_sum - before_sum) / max(1.0, after_count - before_count)


def measure_baseline(folder: Path, args: argparse.Namespace, levels: list[int]) -> list[LevelResult]:
    """The plain diffusers loop behind FastAPI, one request at a time, as a user would write it."""
    port = free_port()
    baseline = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("baseline_app.py")),
            str(folder),
            str(port),
            str(args.steps),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", baseline, 900, lambda: "")
        return asyncio.run(run_levels(f"http://127.0.0.1:{port}", levels, args.min_requests, args.size))
    finally:
        baseline.terminate()
        baseline.wait()


def bench_model(name: str, folder: Path, args: argparse.Namespace, work: Path) -> None:
    levels = [int(level) for level in args.levels.split(",")]
    base = measure_baseline(folder, args, levels)
    print(f"\n== {name} ({args.size}, {args.steps} steps) ==")
    print(f"{'system':<22}{'conc':>5}{'img/s':>9}{'p50 s':>9}{'p95 s':>9}{'x base':>9}")
    print_rows("baseline diffusers", base, base)
    for batch in [int(b) for b in args.batch.split(",")]:
        for threads in _thread_choices(args.torch_threads):
            label = f"batch {batch}" + (f", {threads} thr" if threads else "")
            config = work / f"{name}-batch{batch}-threads{threads or 0}.toml"
            config.write_text(model_config(folder, steps=args.steps, batch=batch, torch_threads=threads))
            with GazoServer(work / f"data-{name}", config=config) as server:
                measured = measure_gazo(server.base_url, levels, args.min_requests, args.size)
                results, ttfp, single_p50, model_time = asyncio.run(measured)
            overhead = single_p50 - model_time
            print_rows(f"gazo ({label})", results, base)
            print(
                f"   gazo {label}: time to first partial image {ttfp:.3f} s; "
                f"model time {model_time:.3f} s/image; "
                f"overhead {overhead * 1000:.1f} ms/image = {100 * overhead / model_time:.1f}% of model time"
            )
    bench_ray(folder, args, levels, base)


def _thread_choices(option: str) -> list[int | None]:
    """`--torch-threads default,1` → [None, 1]: None leaves the count to torch (all cores)."""
    return [None if choice == "default" else int(choice) for choice in option.split(",")]


def bench_ray(folder: Path, args: argparse.Namespace, levels: list[int], base: list[LevelResult]) -> None:
    """The same levels through `gazo serve --ray` with each replica count; ratios to the baseline."""
    by_replicas: dict[int, list[LevelResult]] = {}
    for replicas in [int(r) for r in args.ray_replicas.split(",") if r]:
        batch = int(args.batch.split(",")[0])
        with ray_gazo(folder, replicas, steps=args.steps, batch=batch, work=args.work) as server:
            measured = run_levels(server.base_url, levels, args.min_requests, args.size)
            by_replicas[replicas] = asyncio.run(measured)
        print_rows(f"gazo ray x{replicas}", by_replicas[replicas], base)
    if len(by_replicas) > 1:
        fewest = by_replicas[min(by_replicas)]
        for replicas, results in sorted(by_replicas.items())[1:]:
            ratios = ", ".join(
                f"c{r.concurrency} {r.images_per_s / f.images_per_s:.2f}x"
                for r, f in zip(results, fewest, strict=True)
            )
            print(f"   ray: {replicas} vs {min(by_replicas)} replicas, images/s: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="tiny,realistic", help="tiny, realistic and/or sim")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--batch", default="1,4", help="gazo max_batch_images values to compare")
    parser.add_argument(
        "--torch-threads", default="default", help="gazo's torch threads to compare, e.g. default,1"
    )
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--min-requests", type=int, default=4)
    parser.add_argument("--ray-replicas", default="", help="also run on Ray Serve with these replica counts")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gazo-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    builders = {
        "tiny": lambda out: save_tiny_pipeline("sd", out) if not (out / "model_index.json").exists() else out,
        "realistic": save_realistic_sd,
    }
    for name in args.models.split(","):
        if name == "sim":  # no model and no baseline: the ideal is known exactly
            bench_simulated(args, args.work)
            continue
        folder = builders[name](args.work / f"model-{name}")
        bench_model(name, folder, args, args.work)


if __name__ == "__main__":
    main()
