"""Text the user quotes in a prompt: 'single', "double", “curly”, 「かぎ括弧」 and 『二重かぎ括弧』.

A single-quoted run counts only between word boundaries, so apostrophes (the dog's toy) never open one.
"""

from __future__ import annotations

import re

QUOTES = re.compile(
    r"「(?P<a>[^」]+)」|『(?P<b>[^』]+)』|“(?P<c>[^”]+)”|\"(?P<d>[^\"]+)\"|"
    r"(?:(?<=^)|(?<=[\s:(]))'(?P<e>[^']+)'(?=$|[\s,.;:!?)])"
)


def quoted(match: re.Match[str]) -> str:
    """The text inside one `QUOTES` match, trimmed."""
    return next(value for value in match.groupdict().values() if value).strip()


def quoted_text(prompt: str) -> list[str]:
    """Every quoted text of `prompt`, in order, each once."""
    found = (quoted(match) for match in QUOTES.finditer(prompt))
    return list(dict.fromkeys(text for text in found if text))


def without_quoted(prompt: str) -> str:
    """`prompt` with its quoted texts taken out, for a model that would only scramble their letters."""
    spaced = re.sub(r"\s{2,}", " ", QUOTES.sub(" ", prompt))
    return re.sub(r"\s+(?=[,.;:!?])", "", spaced).strip()
