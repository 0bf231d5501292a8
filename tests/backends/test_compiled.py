"""torch.compile in buckets: eager until a shape's graph is ready, then that graph, with the same pictures.

The `eager` compile backend runs dynamo's real tracing, guards and caching without a C++ compiler, so the
plumbing (background compiles, routing by shape, no request waiting) is tested on any CPU in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters

from gazo.backends.base import BackendContext
from gazo.backends.compiled import bucket_key
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.backends.tiny import save_tiny_pipeline
from gazo.jobs import GenerateJob, Size


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline("sd", tmp_path_factory.mktemp("sd") / "model")


def load(folder: Path, **options: object) -> DiffusersBackend:
    settings = DiffusersOptions(steps={"low": 2}, default_size="64x64", max_batch_images=2, **options)
    backend = DiffusersBackend("sd", str(folder), settings, BackendContext(cache_dir=Path("/nonexistent")))
    backend.load("cpu")
    return backend


def job(size: Size, n: int = 1) -> GenerateJob:
    return GenerateJob(prompt="a lighthouse", model="sd", size=size, quality="low", n=n, seed=7)


def test_named_buckets_compile_in_the_background_and_then_serve_the_same_pictures(folder: Path) -> None:
    eager = load(folder)
    compiled = load(folder, compile=True, compile_backend="eager")
    assert compiled.compiled is not None
    assert compiled.compiled.wait_idle(120)
    assert len(compiled.compiled.ready) == 2 and not compiled.compiled.failed  # 64x64 x batches 1 and 2
    before, frames = compiled.compiled.compiled_calls, counters["frames"]["total"]
    for n in (1, 2):
        mine = compiled.generate(job(Size(64, 64), n), lambda *a: None)
        reference = eager.generate(job(Size(64, 64), n), lambda *a: None)
        assert [np.asarray(a).tobytes() for a in mine] == [np.asarray(b).tobytes() for b in reference]
    assert compiled.compiled.compiled_calls - before == 2 * 2  # two steps each, all on the graphs
    assert counters["frames"]["total"] == frames  # and nothing was traced again on the request's thread


def test_a_new_shape_runs_eager_at_once_and_gets_its_own_graph_later(folder: Path) -> None:
    backend = load(folder, compile=True, compile_backend="eager", compile_batches=[1])
    assert backend.compiled is not None and backend.compiled.wait_idle(120)
    calls = backend.compiled.compiled_calls
    first = backend.generate(job(Size(96, 64)), lambda *a: None)  # not a named bucket: eager, queued
    assert backend.compiled.compiled_calls == calls
    assert backend.compiled.wait_idle(120) and len(backend.compiled.ready) == 2
    again = backend.generate(job(Size(96, 64)), lambda *a: None)
    assert backend.compiled.compiled_calls == calls + 2
    assert np.asarray(first[0]).tobytes() == np.asarray(again[0]).tobytes()


def test_buckets_are_bounded_and_shapes_beyond_the_bound_stay_eager(folder: Path) -> None:
    backend = load(folder, compile=True, compile_backend="eager", compile_batches=[1], compile_max_buckets=1)
    assert backend.compiled is not None and backend.compiled.wait_idle(120)
    backend.generate(job(Size(96, 64)), lambda *a: None)
    assert backend.compiled.wait_idle(5) and len(backend.compiled.seen) == 1  # nothing more was queued


def test_the_bucket_key_tells_shapes_dtypes_and_flags_apart() -> None:
    half = torch.zeros(2, 4, 8, 8, dtype=torch.float16)
    one = bucket_key((torch.zeros(2, 4, 8, 8), torch.tensor(1.0)), {"return_dict": False})
    assert one == bucket_key((torch.ones(2, 4, 8, 8), torch.tensor(5.0)), {"return_dict": False})
    assert one != bucket_key((torch.zeros(4, 4, 8, 8), torch.tensor(1.0)), {"return_dict": False})
    assert one != bucket_key((half, torch.tensor(1.0)), {"return_dict": False})
    assert one != bucket_key((torch.zeros(2, 4, 8, 8), torch.tensor(1.0)), {"return_dict": True})
