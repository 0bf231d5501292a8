"""Text over any picture: it fits, it reads on noise, and no repaint can change a letter."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gazo.typography.fonts import Fonts, shared_fonts
from gazo.typography.overlay import letter, restore_letters, typeset_over


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return shared_fonts()


def noise(width: int = 384, height: int = 256, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def test_no_repaint_changes_a_letter_and_nothing_outside_the_region_changes(fonts: Fonts) -> None:
    picture = noise()
    overlay = typeset_over(picture, ["Grand Opening", "土曜日"], fonts)
    restored = np.asarray(restore_letters(noise(seed=1), overlay), dtype=np.int16)
    typeset = np.asarray(overlay.image, dtype=np.int16)
    letters, region = np.asarray(overlay.letters) == 255, np.asarray(overlay.region) > 0
    assert letters.sum() > 2000
    assert np.array_equal(restored[letters], typeset[letters])
    assert np.array_equal(restored[~region], np.asarray(picture, dtype=np.int16)[~region])
    assert not np.array_equal(restored[region & ~letters], typeset[region & ~letters])  # the repaint shows


def test_busy_ground_behind_the_letters_is_calmed_after_the_repaint(fonts: Fonts) -> None:
    overlay = typeset_over(noise(), ["Calm Behind Letters"], fonts)
    repainted = noise(seed=2)
    restored = restore_letters(repainted, overlay)
    left, top, right, bottom = (round(v) for v in overlay.backings[0].box)
    behind = np.asarray(overlay.letters.crop((left, top, right, bottom))) == 0
    before, after = (
        np.asarray(image.convert("L").crop((left, top, right, bottom)))[behind].std()
        for image in (repainted, restored)
    )
    assert after < before / 3


def test_calm_ground_keeps_what_the_model_painted(fonts: Fonts) -> None:
    calm = Image.new("RGB", (384, 256), (40, 90, 160))
    overlay = typeset_over(calm, ["Sky"], fonts)
    assert overlay.backings and overlay.image.getpixel((2, 2)) == (40, 90, 160)
    shifted = Image.new("RGB", (384, 256), (44, 94, 150))  # the model relit the sky a little
    restored = np.asarray(restore_letters(shifted, overlay))
    letters, region = np.asarray(overlay.letters) == 255, np.asarray(overlay.region) == 255
    inner = region & ~letters & (np.asarray(overlay.letters) == 0)
    assert (restored[inner] == (44, 94, 150)).all(axis=-1).mean() > 0.9  # no plate laid on calm ground


def test_text_stays_inside_the_edit_region(fonts: Fonts) -> None:
    within = Image.new("L", (384, 256), 0)
    within.paste(255, (200, 140, 384, 256))
    overlay = typeset_over(noise(), ["Corner"], fonts, within=within)
    left, top, *_ = overlay.letters.getbbox()  # type: ignore[misc]
    assert left >= 200 and top >= 140
    assert np.asarray(overlay.region)[np.asarray(within) == 0].max() == 0


def test_the_repaint_gets_one_crop_around_the_text_in_multiples_of_64(fonts: Fonts) -> None:
    seen: list[tuple[int, int]] = []

    def repaint(crops: list[Image.Image]) -> list[Image.Image]:
        seen.extend(crop.size for crop in crops)
        return [noise(*crop.size, seed=3) for crop in crops]

    pictures = [noise(512, 512, seed) for seed in (4, 5)]
    results = letter(pictures, ["Two Images"], fonts, harmonise=repaint)
    assert len(results) == 2 and len(set(seen)) == 1
    width, height = seen[0]
    assert width % 64 == 0 and height % 64 == 0 and width * height < 512 * 512 * 0.75


def test_fonts_say_which_characters_they_cannot_draw(fonts: Fonts) -> None:
    assert fonts.missing("Łódź İstanbul 東京 ½") == ""
    assert fonts.missing("party 🎉🎉") == "🎉"
