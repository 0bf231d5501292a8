"""The image check with the real open_nsfw model.

No explicit image may ship with gazo, so the blocking path is exercised honestly through thresholds:
the real model's score for a synthetic image is checked against thresholds set around it. Images that
must pass (flat colours, gradients, noise, skin-tone fills) are checked at the default thresholds.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image

from gazo.moderation import Moderation, Strictness
from gazo.moderation.images import ImageModerator, ImageThresholds
from gazo.settings import ModerationSettings


def _synthetic() -> dict[str, Image.Image]:
    images = {}
    for hue in np.linspace(0, 1, 6, endpoint=False):
        rgb = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.6, 0.8))
        images[f"flat-{hue:.2f}"] = Image.new("RGB", (512, 512), rgb)
    fills = {"grey": (128, 128, 128), "skin-light": (241, 194, 125), "skin-dark": (141, 85, 36)}
    for name, rgb in fills.items():
        images[name] = Image.new("RGB", (512, 512), rgb)
    ramp = np.tile(np.linspace(0, 255, 512), (512, 1))
    images["gradient"] = Image.fromarray(np.stack([ramp, ramp.T, 255 - ramp], -1).astype(np.uint8))
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    images["noise"] = Image.fromarray(noise)
    images["rgba"] = Image.new("RGBA", (256, 256), (10, 200, 90, 128))
    return images


@pytest.mark.parametrize(("name", "image"), list(_synthetic().items()))
def test_plain_images_pass_at_both_levels(moderation: Moderation, name: str, image: Image.Image) -> None:
    for level in Strictness:
        verdict = moderation.check_image(image, level)
        assert not verdict.blocked, (name, verdict)
        assert 0.0 <= verdict.scores["sexual"] < 0.5


def test_thresholds_decide_per_level_with_the_real_model(moderation: Moderation) -> None:
    grey = Image.new("RGB", (512, 512), (128, 128, 128))
    score = moderation._images.score(grey)  # open_nsfw gives flat grey about 0.2
    assert 0.05 < score < 0.5
    checker = ImageModerator(ImageThresholds(auto=score / 2, low=min(1.0, score * 2)))
    checker._classifier = moderation._images._classifier  # reuse the loaded session
    auto = checker.check(grey, Strictness.AUTO)
    assert auto.blocked and auto.category == "sexual" and auto.scores == {"sexual": round(score, 4)}
    assert "image" in auto.reason
    assert not checker.check(grey, Strictness.LOW).blocked


def test_image_thresholds_must_keep_low_at_or_above_auto() -> None:
    with pytest.raises(ValueError):
        ModerationSettings(image_auto_threshold=0.9, image_low_threshold=0.5)
    with pytest.raises(ValueError):
        ImageThresholds(auto=0.9, low=0.5)
