"""Reference images on a pipeline that edits from several images itself (tiny FLUX.1 Kontext) and
through an IP-Adapter (a tiny random one on the tiny SD UNet)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gazo.backends.base import BackendContext
from gazo.backends.diffusers import DiffusersBackend, DiffusersOptions
from gazo.backends.references import IPAdapterSpec, side_by_side
from gazo.backends.tiny import save_tiny_ip_adapter, save_tiny_pipeline
from gazo.jobs import EditJob, GenerateJob, Size


@pytest.fixture(scope="module")
def kontext(tmp_path_factory: pytest.TempPathFactory) -> DiffusersBackend:
    folder = save_tiny_pipeline("flux-kontext", tmp_path_factory.mktemp("kontext") / "model")
    options = DiffusersOptions(steps={"low": 2, "medium": 3, "high": 4})
    backend = DiffusersBackend(
        "kontext", str(folder), options, BackendContext(cache_dir=Path("/nonexistent"))
    )
    backend.load("cpu")
    return backend


def test_references_sit_beside_the_edited_image_at_its_height_and_area() -> None:
    first, wide = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 32), (0, 0, 255))
    joined = side_by_side([first, wide])
    assert joined.width > joined.height and abs(joined.width * joined.height - 64 * 64) < 64 * 4
    left, right = (
        joined.getpixel((2, joined.height // 2)),
        joined.getpixel((joined.width - 3, joined.height // 2)),
    )
    assert left[0] > 200 and right[2] > 200  # type: ignore[index]


def test_an_editing_pipeline_takes_the_references_natively(kontext: DiffusersBackend) -> None:
    capabilities = kontext.capabilities
    assert (capabilities.references, capabilities.edit, capabilities.mask) == ("native", True, False)
    first = Image.new("RGB", (64, 64), (120, 120, 120))
    outputs = []
    for colour in ((250, 10, 10), (10, 10, 250)):
        reference = Image.new("RGB", (64, 64), colour)
        job = EditJob(
            prompt="x", model="kontext", size=Size(64, 48), quality="low", seed=2, images=(first, reference)
        )
        (image,) = kontext.edit(job, lambda *a: None)
        assert image.size == (64, 48)
        outputs.append(np.asarray(image))
    assert not np.array_equal(*outputs)  # the reference reached the model


def test_text_on_an_editing_pipeline_is_typeset_without_a_harmonising_pass(kontext: DiffusersBackend) -> None:
    assert kontext.capabilities.text == "typeset"
    job = GenerateJob(prompt="a sign", model="kontext", size=Size(128, 96), quality="low", seed=1)
    plain = np.asarray(kontext.generate(job, lambda *a: None)[0], dtype=np.int16)
    lettered = np.asarray(kontext.generate(replace(job, text=("OPEN",)), lambda *a: None)[0])
    assert plain.shape == lettered.shape == (96, 128, 3)
    assert (np.abs(lettered.astype(np.int16) - plain).max(axis=-1) > 0).sum() > 200


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> DiffusersBackend:
    root = tmp_path_factory.mktemp("ip-adapter")
    folder = save_tiny_pipeline("sd", root / "model")
    adapter = save_tiny_ip_adapter("sd", root / "adapter")
    options = DiffusersOptions(
        steps={"low": 2, "medium": 3, "high": 4},
        ip_adapter=IPAdapterSpec(source=str(adapter), weight_name="ip-adapter.safetensors", scale=1.0),
    )
    backend = DiffusersBackend(
        "adapted", str(folder), options, BackendContext(cache_dir=root / "hub", offline=True)
    )
    backend.load("cpu")
    return backend


def test_an_ip_adapter_receives_the_references(adapted: DiffusersBackend) -> None:
    assert adapted.capabilities.references == "ip-adapter"
    first = Image.new("RGB", (64, 64), (120, 120, 120))
    outputs = []
    for colour in ((250, 10, 10), (10, 10, 250)):
        references = (Image.new("RGB", (64, 64), colour), Image.new("RGB", (64, 64), (10, 200, 10)))
        job = EditJob(
            prompt="x",
            model="adapted",
            size=Size(64, 64),
            quality="low",
            seed=2,
            images=(first, *references),
            n=2,
        )
        images = adapted.edit(job, lambda *a: None)
        assert [image.size for image in images] == [(64, 64), (64, 64)]
        outputs.append(np.asarray(images[0]))
    assert not np.array_equal(*outputs)  # the references reached the model through the adapter


def test_an_ip_adapter_model_still_generates_and_sets_text_without_references(
    adapted: DiffusersBackend,
) -> None:
    job = GenerateJob(prompt="a sign", model="adapted", size=Size(128, 96), quality="low", seed=1, n=2)
    assert [image.size for image in adapted.generate(job, lambda *a: None)] == [(128, 96)] * 2
    assert adapted.generate(replace(job, text=("OPEN",)), lambda *a: None)[0].size == (128, 96)
