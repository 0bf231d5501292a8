"""Load, unload and swap times of the model manager, against plain diffusers on the same folders.

Run: ``python -m bench.model_swaps [--models tiny,realistic] [--swaps 4]``

Per model kind, two models (two folders linked to one pipeline, so the page cache treats them alike)
are served by one in-process engine whose memory budget fits one of them, so every request for the
other swaps them: the evicted one unloads, the asked one loads, then renders (1 step, 64x64, so the
render is small next to the swap). Reported, median over the swaps:

* load and unload time inside gazo (the engine's own `gazo_model_load_seconds` / `_unload_seconds`),
* a request to the loaded model against one to the evicted model (the difference is what a swap costs a
  client),
* the baseline: `DiffusionPipeline.from_pretrained` on the same folder, and `del` + `gc.collect()`,
  timed in this process, and gazo's load as a ratio of it (gazo also derives the img2img and inpainting
  siblings and reads the fonts; they share the weights, so they cost time, not memory).

The folders' weights are in the page cache after the first load, as on a server that swaps often; the
first (cold) load of each kind is printed apart. `--work` keeps the realistic-width folder (4.3 GB) for
later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from bench.realistic import save_realistic_sd
from gazo.backends.base import BackendContext
from gazo.backends.diffusers import DiffusersBackend
from gazo.backends.footprint import weights_bytes
from gazo.backends.registry import ModelRegistry
from gazo.backends.tiny import save_tiny_pipeline
from gazo.engine.local import LocalEngine
from gazo.engine.metrics import EngineMetrics
from gazo.jobs import GenerateJob, RenderedImage, Size
from gazo.settings import EngineSettings, ModelSpec


def build(kind: str, work: Path) -> Path:
    folder = work / f"model-{kind}"
    if kind == "realistic":
        return save_realistic_sd(folder)
    if not (folder / "model_index.json").exists():
        save_tiny_pipeline("sd", folder)
    return folder


async def request(engine: LocalEngine, model: str) -> float:
    job = GenerateJob(prompt="a hill", model=model, size=Size(64, 64), quality="low", seed=1)
    started = time.perf_counter()
    events = [event async for event in engine.render(job)]
    assert sum(isinstance(event, RenderedImage) for event in events) == 1
    return time.perf_counter() - started


def histogram(engine: LocalEngine, name: str, model: str) -> tuple[float, float]:
    registry = engine.metrics.registry
    total = registry.get_sample_value(f"{name}_sum", {"model": model}) or 0.0
    count = registry.get_sample_value(f"{name}_count", {"model": model}) or 0.0
    return total, count


async def bench_gazo(kind: str, folder: Path, work: Path, swaps: int) -> dict[str, float]:
    links = []
    for name in ("a", "b"):
        link = work / f"{kind}-{name}"
        if not link.exists():
            link.symlink_to(folder.resolve(), target_is_directory=True)
        links.append(link)
    size = weights_bytes(folder, 4)
    specs = [
        ModelSpec(name=f"{kind}-{n}", source=str(link), options={"steps": {"low": 1}}, preload=n == "a")
        for n, link in zip("ab", links, strict=True)
    ]
    registry = ModelRegistry(specs, {"diffusers": DiffusersBackend}, BackendContext(cache_dir=work / "hub"))
    engine = LocalEngine(registry, EngineSettings(memory_budget_gb=1.5 * size / 2**30), EngineMetrics())
    started = time.perf_counter()
    await engine.start()
    while not engine.health().ready:
        await asyncio.sleep(0.01)
    first_load = time.perf_counter() - started
    at_start = histogram(engine, "gazo_model_load_seconds", f"{kind}-a")
    resident, swapped = [], []
    for index in range(swaps):
        model = f"{kind}-{'ab'[index % 2]}"
        resident.append(await request(engine, f"{kind}-{'ba'[index % 2]}" if index else f"{kind}-a"))
        swapped.append(await request(engine, model if index else f"{kind}-b"))
    loads = [histogram(engine, "gazo_model_load_seconds", f"{kind}-{n}") for n in "ab"]
    unloads = [histogram(engine, "gazo_model_unload_seconds", f"{kind}-{n}") for n in "ab"]
    await engine.close()
    load_total = sum(t for t, _ in loads) - at_start[0]  # the swaps' loads only: read from the cache
    load_count = sum(c for _, c in loads) - at_start[1]
    return {
        "bytes": float(size),
        "first_load_s": first_load,
        "load_s": load_total / max(load_count, 1),
        "unload_s": sum(t for t, _ in unloads) / max(sum(c for _, c in unloads), 1),
        "resident_request_s": statistics.median(resident),
        "swapped_request_s": statistics.median(swapped),
        "swaps": sum(c for _, c in unloads),
    }


def bench_plain(folder: Path, repeats: int) -> dict[str, float]:
    loads, unloads = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline = DiffusionPipeline.from_pretrained(str(folder), dtype=torch.float32).to("cpu")
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        del pipeline
        gc.collect()
        unloads.append(time.perf_counter() - started)
    return {"load_s": statistics.median(loads), "unload_s": statistics.median(unloads)}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--models", default="tiny,realistic")
    parser.add_argument("--swaps", type=int, default=4)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gazo-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; fp32; budget = 1.5x one model")
    header = (
        f"{'model':>10} {'weights':>9} {'1st load':>9} {'load':>8} {'plain':>8} {'ratio':>6} "
        f"{'unload':>8} {'plain':>8} {'req loaded':>11} {'req swapped':>12} {'swaps':>6}"
    )
    print(header)
    for kind in args.models.split(","):
        folder = build(kind, args.work)
        gazo = asyncio.run(bench_gazo(kind, folder, args.work, args.swaps))
        plain = bench_plain(folder, max(2, args.swaps // 2))
        print(
            f"{kind:>10} {gazo['bytes'] / 2**20:>7.1f}MB {gazo['first_load_s']:>8.2f}s "
            f"{gazo['load_s']:>7.2f}s {plain['load_s']:>7.2f}s {gazo['load_s'] / plain['load_s']:>5.2f}x "
            f"{gazo['unload_s']:>7.3f}s "
            f"{plain['unload_s']:>7.3f}s {gazo['resident_request_s']:>10.2f}s "
            f"{gazo['swapped_request_s']:>11.2f}s {gazo['swaps']:>6.0f}"
        )


if __name__ == "__main__":
    main()
