"""Moderation settings: on by default, and the defaults agree with the code's."""

from __future__ import annotations

from gazo.moderation.images import ImageThresholds
from gazo.moderation.policy import Thresholds
from gazo.settings import ModerationSettings, Settings


def test_moderation_is_on_by_default_with_the_codes_thresholds() -> None:
    settings = Settings().moderation
    assert settings.enabled
    prompt = (settings.prompt_auto_threshold, settings.prompt_low_threshold)
    assert prompt == (Thresholds().auto, Thresholds().low)
    assert (settings.image_auto_threshold, settings.image_low_threshold) == (
        ImageThresholds().auto,
        ImageThresholds().low,
    )


def test_rules_and_allow_lists_parse() -> None:
    settings = ModerationSettings(
        rules=[{"name": "r", "terms": ["x"], "reason": "no", "organizations": ["acme"]}],
        allow=[{"phrases": ["y"]}],
    )
    assert settings.rules[0].organizations == ["acme"]
    assert settings.allow[0].organizations == []
