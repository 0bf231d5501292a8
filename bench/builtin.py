"""Timings of the built-in engine: per stage and in total, medians over several prompts and seeds.

    python bench/builtin.py [--size 1024x1024] [--repeats 3]

The target is a 1024x1024 image in under 1 s on a 2-core CPU. The query-embedding memo is cleared
before every image, so subject matching is timed as for a prompt never seen before.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gazo.backends.base import BackendContext
from gazo.backends.builtin import BuiltinBackend
from gazo.backends.builtin.compose import STAGES, draw_stages
from gazo.backends.builtin.prompt import parse_prompt
from gazo.backends.builtin.scene import plan_scene
from gazo.jobs import GenerateJob, Size

PROMPTS = (
    'A poster of a red fox and two blue birds in a snowy forest, "WINTER SALE" at the top',
    "a cute kitty sticker",
    'Neon banner that says "OPEN 24/7" with a coffee cup on the right',
    "夕焼けの海に白いクジラ、「夏休み」の文字",
    "watercolor painting of cherry blossoms and mount fuji",
    'happy birthday party with cake and balloons, "Happy Birthday Mia!"',
    "a rocket in space with planets and stars",
    "three ducks on a pond, pastel pattern",
)


def _stage_times(backend: BuiltinBackend, prompt: str, size: tuple[int, int], seed: int) -> dict[str, float]:
    """Seconds spent in planning (prompt reading, matching, layout) and in each drawing stage."""
    assert backend.library is not None and backend.fonts is not None
    backend.library.embedder._memo.clear()
    times: dict[str, float] = {}
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 0])
    scene = plan_scene(parse_prompt(prompt), size, backend.library, rng)
    times["plan"] = time.perf_counter() - started
    stages = draw_stages(scene, backend.library, backend.fonts, rng)
    for name in STAGES:
        mark = time.perf_counter()
        image = next(stages)
        times[name] = time.perf_counter() - mark
    mark = time.perf_counter()
    image.save(io.BytesIO(), "PNG", compress_level=6)
    times["png encode"] = time.perf_counter() - mark
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = Size.parse(args.size)

    started = time.perf_counter()
    context = BackendContext(cache_dir=Path(tempfile.mkdtemp(prefix="gazo-bench-")))
    backend = BuiltinBackend("builtin", "builtin", BuiltinBackend.Options(), context)
    backend.load(None)
    print(f"load (model, icons, vectors, fonts): {time.perf_counter() - started:.2f} s")

    _stage_times(backend, PROMPTS[0], (size.width, size.height), 0)  # warm-up: icon cache, font sizes
    samples: dict[str, list[float]] = {}
    totals: list[float] = []
    for repeat in range(args.repeats):
        for index, prompt in enumerate(PROMPTS):
            times = _stage_times(backend, prompt, (size.width, size.height), 100 * repeat + index)
            for name, seconds in times.items():
                samples.setdefault(name, []).append(seconds)
            totals.append(sum(v for k, v in times.items() if k != "png encode"))
    count = len(totals)
    print(f"\n{size} medium quality, {count} images ({len(PROMPTS)} prompts x {args.repeats} seeds)")
    for name, values in [*samples.items(), ("total", totals)]:
        median, worst = statistics.median(values) * 1000, max(values) * 1000
        print(f"  {name:<12} median {median:7.1f} ms   max {worst:7.1f} ms")

    for quality in ("low", "medium"):
        job = GenerateJob(prompt=PROMPTS[0], model="builtin", size=size, quality=quality, n=1, seed=1)
        runs = []
        for _ in range(5):
            backend.library.embedder._memo.clear()  # type: ignore[union-attr]
            mark = time.perf_counter()
            backend.generate(job, lambda *_: None)
            runs.append(time.perf_counter() - mark)
        print(f"generate() end to end, quality {quality}: median {statistics.median(runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
