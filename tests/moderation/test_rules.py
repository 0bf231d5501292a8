"""Organisation rules and allow-lists from settings."""

from __future__ import annotations

from gazo.moderation import Moderation, Strictness
from gazo.settings import ModerationSettings

from .conftest import SETTINGS


def test_a_rule_blocks_at_every_level_and_names_itself(moderation: Moderation) -> None:
    for prompt in ("a forest spirit, in the style of Studio-Ghibli", "森の精霊、ジブリ風"):
        for level in Strictness:
            verdict = moderation.check_prompt(prompt, level)
            assert verdict.blocked and verdict.rule == "no-ghibli-imitation", verdict
            assert verdict.reason == "This service does not imitate the styles of living studios."
            assert verdict.category is None


def test_rules_match_whole_words_only(moderation: Moderation) -> None:
    assert not moderation.check_prompt("a studio ghibliesque teapot").blocked


def test_an_organisation_rule_applies_only_to_that_organisation(moderation: Moderation) -> None:
    prompt = "a billboard for Globex sneakers"
    assert moderation.check_prompt(prompt, organization="acme").rule == "acme-competitors"
    assert not moderation.check_prompt(prompt, organization="other").blocked
    assert not moderation.check_prompt(prompt).blocked


def test_allow_list_overrides_a_false_positive_but_not_the_rest_of_the_prompt(moderation: Moderation) -> None:
    assert not moderation.check_prompt("a Naked Juice bottle, product photo", "auto").blocked
    verdict = moderation.check_prompt("a Naked Juice bottle next to a naked woman, explicit porn", "auto")
    assert verdict.blocked and verdict.category == "sexual"


def test_allow_list_can_be_scoped_to_an_organisation(moderation: Moderation) -> None:
    prompt = "Death Note anime poster"
    assert not moderation.check_prompt(prompt, "auto", organization="anime-shop").blocked
    unscoped = Moderation.from_settings(ModerationSettings())
    unscoped._prompts = moderation._prompts  # share the loaded models
    unscoped._images = moderation._images
    assert unscoped.check_prompt(prompt, "auto").blocked == moderation.check_prompt(prompt, "auto").blocked


def test_allow_list_never_overrides_sexual_minors() -> None:
    settings = SETTINGS.model_copy(update={"allow": [ModerationSettings.AllowList(phrases=["schoolgirl"])]})
    moderation = Moderation.from_settings(settings)
    verdict = moderation.check_prompt("a naked schoolgirl", "low")
    assert verdict.blocked and verdict.category == "sexual/minors"


def test_disabled_classifiers_still_apply_rules() -> None:
    moderation = Moderation.from_settings(SETTINGS.model_copy(update={"enabled": False}))
    moderation.load()  # nothing to load
    assert not moderation.check_prompt("explicit porn", "auto").blocked
    assert moderation.check_prompt("a cat in the style of Studio Ghibli").rule == "no-ghibli-imitation"
