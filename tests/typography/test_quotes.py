"""Which parts of a prompt are text to set exactly, and the prompt a model sees without them."""

from __future__ import annotations

import pytest

from gazo.typography.quotes import quoted_text, without_quoted


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a poster with the headline 'Summer Sale 50% OFF'", ["Summer Sale 50% OFF"]),
        ('a sign saying "Open" and "Closed"', ["Open", "Closed"]),
        ("a label “Café” on a jar", ["Café"]),
        ("「夏祭り」のポスター、『花火大会』も", ["夏祭り", "花火大会"]),
        ("the dog's toy and the cat's bowl", []),
        ("'Hello' and again 'Hello'", ["Hello"]),
    ],
)
def test_quoted_text_in_every_quote_style(prompt: str, expected: list[str]) -> None:
    assert quoted_text(prompt) == expected


def test_the_model_prompt_loses_only_the_text_that_is_typeset() -> None:
    prompt = "a card with 'Hello', a \"🎉\" sticker and 「ようこそ」."
    assert without_quoted(prompt, ["Hello", "ようこそ"]) == 'a card with, a "🎉" sticker and.'
    assert without_quoted(prompt, []) == prompt
