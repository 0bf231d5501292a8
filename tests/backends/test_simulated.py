"""The simulated accelerator: a GPU pipeline's timing without one, pictures that encode like real ones."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from gazo.backends.base import BackendContext
from gazo.backends.simulated import SimulatedAcceleratorBackend, SimulatedOptions
from gazo.errors import Cancelled
from gazo.jobs import GenerateJob, Size
from gazo.plugins import backend_classes, load_plugins


def backend(**options: object) -> SimulatedAcceleratorBackend:
    settings = SimulatedOptions(**{"setup_s": 0.0, "per_image_s": 0.01, **options})
    return SimulatedAcceleratorBackend("sim", "simulated", settings, BackendContext(cache_dir=Path("/tmp")))


SMALL = Size(256, 192)


def job(n: int = 1, seed: int | None = None, size: Size = SMALL) -> GenerateJob:
    return GenerateJob(prompt="a lighthouse", model="sim", size=size, quality="low", n=n, seed=seed)


def test_it_registers_through_the_plugin_hook_like_every_backend() -> None:
    assert backend_classes(load_plugins(entry_points=False))["simulated"] is SimulatedAcceleratorBackend


def test_a_batch_gives_each_job_its_own_images_of_its_size_and_reports_every_step() -> None:
    steps: list[int] = []
    results = backend().generate_batch(
        [job(n=2, seed=1), job(n=1, seed=3)], [lambda s, t, p: steps.append(s), lambda s, t, p: None]
    )
    assert [len(images) for images in results] == [2, 1]
    assert {image.size for images in results for image in images} == {(256, 192)}
    assert steps == list(range(1, 9))  # quality low: 8 steps


def test_the_same_seed_gives_the_same_picture() -> None:
    sim = backend()
    first = sim.generate(job(seed=5), lambda *a: None)[0]
    again = sim.generate(job(seed=5), lambda *a: None)[0]
    other = sim.generate(job(seed=6), lambda *a: None)[0]
    assert first.tobytes() == again.tobytes() != other.tobytes()


def test_its_pictures_compress_like_photographs_not_like_flat_colour_or_noise() -> None:
    picture = backend().generate(job(size=Size(512, 512)), lambda *a: None)[0]
    encoded = io.BytesIO()
    picture.save(encoded, "PNG")
    ratio = (512 * 512 * 3) / len(encoded.getvalue())
    assert 1.2 < ratio < 4.0, ratio  # flat colour: > 100x; white noise: ~1x
    assert Image.open(encoded).size == (512, 512)


def test_a_cancelled_job_leaves_the_batch_and_the_rest_render() -> None:
    def cancel(step: int, total: int, previews: object) -> None:
        if step == 2:
            raise Cancelled()

    results = backend().generate_batch([job(), job(seed=2)], [cancel, lambda *a: None])
    assert results[0] == [] and len(results[1]) == 1
    with pytest.raises(Cancelled):
        backend().generate(job(), cancel)


def test_it_waits_without_holding_the_gil() -> None:
    """Another thread keeps running while a batch "renders", as it would beside a GPU."""
    counted = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counted
        while not stop.is_set():
            counted += 1

    sim = backend(setup_s=0.3, per_image_s=0.0)
    sim.load(None)
    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    sim.generate(job(), lambda *a: None)
    stop.set()
    counter.join()
    assert time.perf_counter() - started >= 0.3
    assert counted > 100_000


def test_launching_a_step_holds_the_cpu_so_a_step_lasts_at_least_its_launch() -> None:
    """Launch work is CPU time that no wait can hide: a step is never shorter than its launch, however
    short its device time (the bench's contention measurements rest on this)."""
    sim = backend(per_image_s=0.0, launch_s=0.02)
    started = time.thread_time()
    sim.generate(job(), lambda *a: None)
    assert time.thread_time() - started >= 8 * 0.02  # 8 steps at quality low, each launched on this thread
