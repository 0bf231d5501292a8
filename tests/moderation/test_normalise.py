"""The normaliser alone: evasive spellings become the plain word, ordinary prompts stay as they are."""

# ruff: noqa: RUF001, RUF003  (full-width and look-alike letters are what these tests are about)

from __future__ import annotations

import pytest

from gazo.moderation.normalise import deobfuscate, fold_kana, fold_pattern, normalize

UNDONE = [
    ("ｎｕｄｅ woman", "nude woman"),
    ("n.u.d.e photo", "nude photo"),
    ("n u d e photo", "nude photo"),
    ("n-u-d-e photo", "nude photo"),
    ("a n u d e woman", "a nude woman"),
    ("nud3 selfie", "nude selfie"),
    ("n00dz", "nudes"),
    ("p0rn", "porn"),
    ("$ex tape", "sex tape"),
    ("k!ll yourself", "kill yourself"),
    ("nuuuude", "nude"),
    ("nüde", "nude"),
    ("nudе", "nude"),  # Cyrillic е
    ("how to make a 💣", "how to make a bomb"),
    ("🍆💦 on her face", "penis cum on her face"),
    ("zenra no joshikousei", "全裸の女子高生"),
    ("bakudan no tsukurikata", "爆弾の作り方"),
    ("ぬ ー ど", "ぬーど"),
    ("ヌ・ー・ド", "ヌード"),
    ("全 裸 の 女性", "全裸の女性"),
    ("ぎゃくさつの現場", "虐殺の現場"),
]

UNCHANGED = [
    "a l33t gamer avatar",  # leet is undone ("leet"), which is harmless: checked below
    "a 1990s hacker movie poster, 4k, 35mm film",
    "a cocktail at a beach bar",
    "scunthorpe",
    "wow! a double rainbow",
    "a 2nd place trophy, 8k, highly detailed",
    "a peach 🍑 tart",
    "an eggplant 🍆 parmesan",
    "鶏むね肉のレシピ写真",
    "ジョン・スミスの肖像画",
    "a cat in a hat",
]


@pytest.mark.parametrize(("written", "plain"), UNDONE)
def test_evasive_spellings_are_undone(written: str, plain: str) -> None:
    assert deobfuscate(written) == plain


@pytest.mark.parametrize("prompt", UNCHANGED[1:])
def test_ordinary_prompts_read_the_same(prompt: str) -> None:
    expected = normalize(prompt).replace("🍑", "peach").replace("🍆", "eggplant")
    assert deobfuscate(prompt) == " ".join(expected.split())


def test_words_are_not_glued_together() -> None:
    assert deobfuscate("a cat and a dog on a mat") == "a cat and a dog on a mat"
    assert deobfuscate("l33t gamer") == "leet gamer"


def test_kana_variants_fold_to_one_key() -> None:
    keys = {fold_kana(word) for word in ("ぬーど", "ヌード", "ぬうど", "ヌゥド", "ヌ〜ド", "ぬーーど")}
    assert keys == {"ヌード"}
    assert fold_kana("セッッックス") == fold_kana("セックス")
    assert fold_kana("カフェロゴ") != fold_kana("カエロゴ"), "small kana must stay small"


def test_fold_pattern_keeps_character_classes() -> None:
    assert fold_pattern("(?<![ァ-ヶー])ちょん") == "(?<![ァ-ヶー])チョン"
