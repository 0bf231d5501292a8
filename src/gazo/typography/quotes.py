"""Text the user quotes in a prompt: 'single', "double", “curly”, 「かぎ括弧」 and 『二重かぎ括弧』.

A single-quoted run counts only between word boundaries, so apostrophes (the dog's toy) never open one.
"""

from __future__ import annotations

import re
from collections.abc import Collection

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


def without_quoted(prompt: str, texts: Collection[str]) -> str:
    """`prompt` with those of its quoted texts that are in `texts` taken out: they are typeset, and a
    model would only add scrambled copies of their letters."""
    if not texts:
        return prompt
    taken = QUOTES.sub(lambda match: " " if quoted(match) in texts else match.group(0), prompt)
    spaced = re.sub(r"\s{2,}", " ", taken)
    return re.sub(r"\s+(?=[,.;:!?])", "", spaced).strip()
