"""Edits: a subject, text or colour composed into a mask, removal by content-aware fill, background
extension, and reference images that steer the palette and are placed as subjects."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gazo.backends.builtin.backend import BuiltinBackend
from gazo.imaging import extend_canvas
from gazo.jobs import EditJob, Size
from tests.backends.builtin.support import hue, hue_distance, squash

SIZE = Size(512, 512)


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    """A soft sky-to-grass gradient with a red ball in the middle: something to edit and to remove."""
    rows = np.linspace(0, 1, SIZE.height)[:, None, None]
    sky, grass = np.array([150, 200, 240]), np.array([90, 170, 90])
    pixels = np.broadcast_to(sky * (1 - rows) + grass * rows, (SIZE.height, SIZE.width, 3))
    noise = np.random.default_rng(0).normal(0, 3, pixels.shape)
    image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8), "RGB")
    ImageDraw.Draw(image).ellipse((196, 196, 316, 316), fill=(220, 30, 30))
    return image


@pytest.fixture(scope="module")
def mask() -> Image.Image:
    region = Image.new("L", (SIZE.width, SIZE.height), 0)
    ImageDraw.Draw(region).rectangle((176, 176, 336, 336), fill=255)
    return region


def _edit(
    backend: BuiltinBackend,
    prompt: str,
    images: tuple[Image.Image, ...],
    mask: Image.Image | None,
    size: Size = SIZE,
    **fields: object,
) -> Image.Image:
    job = EditJob(
        prompt=prompt,
        model="builtin",
        size=size,
        quality="medium",
        seed=1,
        images=images,
        mask=mask,
        **fields,
    )
    return backend.edit(job, lambda *_: None)[0]


def _inside(image: Image.Image, region: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32)[np.asarray(region) > 127]


def _outside(image: Image.Image, region: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32)[np.asarray(region) <= 127]


def test_mask_fill_composes_the_subject_inside_and_leaves_the_outside(
    backend: BuiltinBackend, scene: Image.Image, mask: Image.Image
) -> None:
    edited = _edit(backend, "a cat", (scene,), mask)
    assert edited.info["gazo.subjects"] == ["cat"]
    changed_outside = np.abs(_outside(edited, mask) - _outside(scene, mask)).max(-1) > 8
    assert changed_outside.mean() < 0.01
    inside = _inside(edited, mask)
    cat_orange = (inside[:, 0] > 200) & (inside[:, 1] > 130) & (inside[:, 1] < 200) & (inside[:, 2] < 120)
    assert cat_orange.mean() > 0.1


def test_removal_fills_the_mask_from_its_surroundings(
    backend: BuiltinBackend, scene: Image.Image, mask: Image.Image
) -> None:
    edited = _edit(backend, "remove the red ball", (scene,), mask)
    inside = _inside(edited, mask)
    red = (inside[:, 0] > 180) & (inside[:, 1] < 80)
    assert red.mean() < 0.005
    ring = Image.new("L", mask.size, 0)
    ImageDraw.Draw(ring).rectangle((156, 156, 356, 356), fill=255)
    ImageDraw.Draw(ring).rectangle((176, 176, 336, 336), fill=0)
    assert np.abs(inside.mean(0) - _inside(scene, ring).mean(0)).max() < 20
    assert edited.info["gazo.subjects"] == []


def test_background_extension_continues_the_border(backend: BuiltinBackend, scene: Image.Image) -> None:
    wide = Size(1024, 512)
    canvas, region = extend_canvas(scene, wide, "center")
    edited = np.asarray(_edit(backend, "extend the background", (canvas,), region, size=wide), np.float32)
    seam_outside, seam_inside = edited[:, 250:254], edited[:, 258:262]  # the scene starts at x = 256
    assert np.abs(seam_outside.mean(1) - seam_inside.mean(1)).mean() < 12
    far_left = edited[:, :64].mean((0, 1))
    assert np.abs(far_left - np.asarray(scene, np.float32)[:, :64].mean((0, 1))).max() < 30


def test_references_steer_the_palette_and_are_placed(backend: BuiltinBackend, scene: Image.Image) -> None:
    reference = Image.new("RGB", (200, 200), (250, 250, 250))
    ImageDraw.Draw(reference).ellipse((6, 6, 194, 194), fill=(240, 120, 20))
    steered = _edit(backend, "warm it up", (scene, reference), None, input_fidelity="low")
    assert steered.info["gazo.subjects"] == ["reference-image"]
    corner, before = (
        np.asarray(steered, np.float32)[:64, :64].mean((0, 1)),
        np.asarray(scene, np.float32)[:64, :64].mean((0, 1)),
    )
    assert corner[0] - corner[2] > before[0] - before[2] + 20  # redder than it was
    kept = _edit(backend, "warm it up", (scene, reference), None, input_fidelity="high")
    assert np.array_equal(np.asarray(kept)[:64, :64], np.asarray(scene)[:64, :64])
    placed = np.asarray(kept.convert("RGB"), np.int16)
    assert (
        (placed[..., 0] > 220) & (np.abs(placed[..., 1] - 120) < 25) & (placed[..., 2] < 60)
    ).mean() > 0.02


def test_a_colour_alone_recolours_the_masked_area(
    backend: BuiltinBackend, scene: Image.Image, mask: Image.Image
) -> None:
    inside = _inside(_edit(backend, "make it purple", (scene,), mask), mask)
    assert hue_distance(hue(tuple(int(v) for v in inside.mean(0))), 285) < 30  # type: ignore[arg-type]


def test_text_alone_is_typeset_into_the_mask(
    backend: BuiltinBackend, scene: Image.Image, read_text: Callable[[Image.Image], str]
) -> None:
    band = Image.new("L", (SIZE.width, SIZE.height), 0)
    ImageDraw.Draw(band).rectangle((40, 360, 472, 480), fill=255)
    edited = _edit(backend, 'add the words "OPEN DAILY"', (scene,), band)
    assert "OPENDAILY" in read_text(edited.crop((40, 360, 472, 480)))
    assert squash("OPEN DAILY") == "OPENDAILY"
