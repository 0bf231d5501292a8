"""Concurrent checks from worker threads give the same verdicts as sequential ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from gazo.moderation import Moderation
from gazo.settings import ModerationSettings

from .test_prompts import BORDERLINE, CLEAR, SAFE


def test_concurrent_prompt_and_image_checks_agree_with_sequential(moderation: Moderation) -> None:
    prompts = SAFE + [p for p, _ in CLEAR] + BORDERLINE
    expected = [moderation.check_prompt(p, "auto") for p in prompts]
    image = Image.new("RGB", (256, 256), (30, 90, 160))
    expected_image = moderation.check_image(image, "auto")
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda p: moderation.check_prompt(p, "auto"), prompts * 3))
        images = list(pool.map(lambda _: moderation.check_image(image, "auto"), range(16)))
    assert got == expected * 3
    assert all(v == expected_image for v in images)


def test_first_checks_from_many_threads_load_the_models_once() -> None:
    moderation = Moderation.from_settings(ModerationSettings())
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda _: moderation.check_prompt("explicit porn", "low"), range(4)))
    assert all(v.blocked and v.category == "sexual" for v in verdicts)
