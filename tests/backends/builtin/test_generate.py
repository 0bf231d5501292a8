"""Generated images follow the prompt: colours, reported subjects, exact text (read back by OCR),
real alpha, seeded determinism, variations that differ, and partial images that are real stages."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from gazo import plugins
from gazo.backends import builtin
from gazo.backends.builtin.backend import BuiltinBackend
from gazo.jobs import GenerateJob, Size
from tests.backends.builtin.support import dominant_colour, hue, hue_distance, squash

Generate = Callable[..., list[Image.Image]]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("prompt", "expected_hue"),
    [
        ("a cat on a blue background", 220),
        ("a dog, green background", 130),
        ("an owl on an orange background", 30),
    ],
)
def test_named_background_colour_is_the_dominant_colour(
    generate: Generate, prompt: str, expected_hue: float
) -> None:
    for seed in (1, 2):
        colour = dominant_colour(generate(prompt, seed=seed)[0])
        assert hue_distance(hue(colour), expected_hue) < 25, colour


def test_colour_words_recolour_their_subject_and_the_subject_is_reported(generate: Generate) -> None:
    image = generate("a blue apple on a white background", seed=3)[0]
    assert image.info["gazo.subjects"] == ["red-apple"] or image.info["gazo.subjects"] == ["green-apple"]
    pixels = np.asarray(image.convert("HSV"), dtype=np.float32)
    saturated = pixels[..., 1] > 100
    hues = pixels[..., 0][saturated] * 360 / 255
    assert saturated.mean() > 0.05
    assert np.median(hues) == pytest.approx(220, abs=25)


def test_every_subject_of_the_prompt_is_drawn_and_reported(generate: Generate) -> None:
    image = generate("two cats and a dog playing with a ball in the garden", seed=5)[0]
    subjects = image.info["gazo.subjects"]
    assert subjects[0] in ("cat", "cat-face") and subjects[1] in ("dog", "dog-face")
    assert any("ball" in name for name in subjects[2:])


def test_a_kitty_is_drawn_as_a_cat(generate: Generate) -> None:
    assert "cat" in generate("a sleepy kitty sticker", seed=1)[0].info["gazo.subjects"][0].split("-")


@pytest.mark.parametrize(
    ("prompt", "text", "size"),
    [
        ('A poster of a fox in the snow with the text "WINTER SALE"', "WINTER SALE", "1024x1024"),
        ('a birthday banner, cake and balloons, "Happy Birthday Mia!"', "Happy Birthday Mia!", "1536x1024"),
        ("夕焼けの海にクジラ、「夏休み」の文字", "夏休み", "1024x1536"),
        ("ピンクの背景に猫と三匹の魚、上に『ねこまつり』", "ねこまつり", "1024x1024"),
    ],
)
def test_quoted_text_is_typeset_exactly(
    generate: Generate, read_text: Callable[[Image.Image], str], prompt: str, text: str, size: str
) -> None:
    image = generate(prompt, size=size, seed=11)[0]
    assert image.info["gazo.text"] == [text]
    assert squash(text) in read_text(image)


def test_the_same_seed_gives_the_same_pixels(generate: Generate) -> None:
    first = generate('a rocket in space, "LAUNCH"', seed=42)[0]
    again = generate('a rocket in space, "LAUNCH"', seed=42)[0]
    assert _png(first) == _png(again)


def test_variations_of_one_request_differ(generate: Generate) -> None:
    images = generate("a cute owl in the forest", seed=7, n=3)
    encoded = {_png(image) for image in images}
    assert len(encoded) == 3
    assert all(image.info["gazo.subjects"] for image in images)


def test_transparent_background_has_real_alpha(generate: Generate) -> None:
    image = generate("a penguin sticker", seed=2, background="transparent")[0]
    alpha = np.asarray(image.getchannel("A"))
    assert image.mode == "RGBA"
    assert alpha[:20, :20].max() == 0 and alpha[-20:, -20:].max() == 0
    assert (alpha == 255).mean() > 0.15


def test_partial_images_are_the_real_stages(backend: BuiltinBackend) -> None:
    steps: list[tuple[int, int, list[Image.Image]]] = []
    job = GenerateJob(
        prompt='a lion on a yellow background, "ROAR"',
        model="builtin",
        size=Size(512, 512),
        quality="medium",
        n=2,
        seed=4,
        partial_images=3,
    )
    finals = backend.generate(job, lambda step, total, previews: steps.append((step, total, previews())))
    assert [(step, total) for step, total, _ in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    background, subjects, text = (
        np.asarray(previews[0].convert("RGB"), np.int16) for _, _, previews in steps[:3]
    )
    assert np.abs(background - background.mean((0, 1))).max() < 60  # only the background so far
    assert np.abs(subjects - background).max() > 100  # the lion arrived
    assert np.abs(text - subjects).max() > 100  # then the headline
    assert all(len(previews) == 2 for _, _, previews in steps)
    assert _png(finals[0]) != _png(finals[1])


def test_low_quality_and_other_shapes_keep_the_exact_size(
    generate: Generate, backend: BuiltinBackend
) -> None:
    job = GenerateJob(prompt="a sailboat", model="builtin", size=Size(1536, 1024), quality="low", seed=1)
    image = backend.generate(job, lambda *_: None)[0]
    assert image.size == (1536, 1024)
    assert image.info["gazo.subjects"] == ["sailboat"]


def test_registered_through_the_plugin_hook_and_says_what_it_is() -> None:
    manager = plugins.load_plugins(entry_points=False, builtins=False)
    manager.register(builtin, name="gazo.backends.builtin")
    classes = plugins.backend_classes(manager)
    assert classes["builtin"] is BuiltinBackend
    assert BuiltinBackend.capabilities.transparent_background and BuiltinBackend.capabilities.partial_images
    assert "not a diffusion model" in BuiltinBackend.describe(None)  # type: ignore[arg-type]
