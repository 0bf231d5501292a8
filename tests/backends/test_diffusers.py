"""The diffusers backend on tiny sd, sdxl and flux folders, loaded through the real `from_pretrained`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gazo.backends.base import BackendContext
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.backends.tiny import save_tiny_pipeline
from gazo.jobs import EditJob, GenerateJob, Size


@pytest.fixture(scope="module", params=["sd", "sdxl", "flux"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DiffusersBackend:
    folder = save_tiny_pipeline(request.param, tmp_path_factory.mktemp(request.param) / "model")
    options = DiffusersOptions(steps={"low": 2, "medium": 3, "high": 4})
    loaded = DiffusersBackend(
        request.param, str(folder), options, BackendContext(cache_dir=Path("/nonexistent"))
    )
    loaded.load("cpu")
    return loaded


def record_progress() -> tuple[list[tuple[int, int, list[Image.Image]]], object]:
    calls: list[tuple[int, int, list[Image.Image]]] = []

    def progress(step: int, total: int, make_previews: object) -> None:
        calls.append((step, total, make_previews()))  # type: ignore[operator]

    return calls, progress


def test_generate_n_images_of_the_exact_size_with_previews_each_step(backend: DiffusersBackend) -> None:
    calls, progress = record_progress()
    job = GenerateJob(prompt="a cat", model=backend.name, size=Size(96, 64), quality="high", n=2, seed=3)
    images = backend.generate(job, progress)  # type: ignore[arg-type]
    assert [image.size for image in images] == [(96, 64), (96, 64)]
    assert [(step, total) for step, total, _ in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(len(previews) == 2 and previews[0].size == (96, 64) for _, _, previews in calls)
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))


def test_same_seed_same_image(backend: DiffusersBackend) -> None:
    job = GenerateJob(prompt="a dog", model=backend.name, size=Size(64, 64), quality="low", seed=11)
    first = backend.generate(job, lambda *a: None)[0]
    second = backend.generate(job, lambda *a: None)[0]
    assert np.array_equal(np.asarray(first), np.asarray(second))


def test_edit_with_mask_and_img2img(backend: DiffusersBackend) -> None:
    assert backend.capabilities.edit and backend.capabilities.mask
    source = Image.new("RGB", (80, 64), (200, 30, 30))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    masked = EditJob(
        prompt="x", model=backend.name, size=Size(64, 64), quality="low", seed=1, images=(source,), mask=mask
    )
    assert backend.edit(masked, lambda *a: None)[0].size == (64, 64)
    plain = EditJob(
        prompt="x",
        model=backend.name,
        size=Size(64, 48),
        quality="low",
        seed=1,
        images=(source, source),
        input_fidelity="high",
    )
    assert backend.edit(plain, lambda *a: None)[0].size == (64, 48)


def test_text_is_typeset_in_one_band_and_the_bar_never_goes_back(backend: DiffusersBackend) -> None:
    assert backend.capabilities.text == "typeset+harmonise"
    steps, progress = record_progress()
    job = GenerateJob(prompt="a poster", model=backend.name, size=Size(256, 192), quality="low", seed=5)
    plain = np.asarray(backend.generate(job, lambda *a: None)[0], dtype=np.int16)
    with_text = backend.generate(replace(job, text=("SALE",)), progress)[0]  # type: ignore[arg-type]
    changed = np.abs(np.asarray(with_text, dtype=np.int16) - plain).max(axis=-1) > 0
    rows = np.flatnonzero(changed.any(axis=1))
    assert with_text.size == (256, 192) and changed.sum() > 1000
    assert rows.max() - rows.min() < 0.75 * 192  # the text and its harmonised surroundings, not the picture
    reported = [step for step, _, _ in steps]
    assert reported == sorted(reported) and reported[-1] == steps[-1][1]


def test_batching_defaults_to_the_device_and_yields_to_the_options(backend: DiffusersBackend) -> None:
    assert backend.device == "cpu" and backend.batch_limit() == 4  # measured: it pays a little on a CPU
    configured = DiffusersBackend(
        "b", backend.source, DiffusersOptions(max_batch_images=4), BackendContext(cache_dir=Path("/x"))
    )
    assert configured.batch_limit() == 4
    configured.device = "cuda"
    assert configured.batch_limit() == 4
    unset = DiffusersBackend("c", backend.source, DiffusersOptions(), BackendContext(cache_dir=Path("/x")))
    unset.device = "cuda"
    assert unset.batch_limit() > 4  # an accelerator fills its idle cores with the extra images
