"""Word lists that decide on their own: violation terms with their context, child markers, public figures.

Why a lexicon beside the trained classifier: some words are violations in any context ("porn",
"リストカット") and a list catches them with certainty, in both languages, whatever the classifier
learned; the classifier, in turn, judges what a list cannot ("a chef's knife" vs "a knife to her
throat"). Lists also carry what no training set can hold: every public figure, every age under 18.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gazo.moderation.base import DATA_DIR
from gazo.moderation.normalise import fold_pattern, normalize

__all__ = ["Lexicon", "LexiconHits", "PeopleIndex", "load_people", "normalize"]

PEOPLE_FILE = DATA_DIR / "people.txt"
_LEET = str.maketrans("013457@$", "oieastas")
_NUMBER_WORDS = [
    *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
    *("thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
]
_AGE = re.compile(
    r"\b(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")[- ]?(?:years?|yrs?|y\.?o\b|y/o)(?:[- ]old)?"
    r"|\baged? (?P<aged>\d{1,2})\b|(?P<ja>\d{1,2}) ?(?:歳|才|さい)"
)


# A kana-only pattern this short ("エロ", "グロ", "ロリ") sits inside too many hiragana words (燃えろ,
# まぐろ, ころり) to be matched after folding: it matches only as written.
_TOO_SHORT_TO_FOLD = re.compile(r"[\u30a0-\u30ff]{1,2}")


def _alternation(patterns: list[str], fold: Callable[[str], str] | None = None) -> re.Pattern[str] | None:
    if fold is not None:
        patterns = [fold(p) for p in patterns if not _TOO_SHORT_TO_FOLD.fullmatch(p)]
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True)
class LexiconHits:
    """Categories with a clear and with a borderline term, and whether the prompt is about a child."""

    clear: frozenset[str]
    borderline: frozenset[str]
    minor: bool

    def __or__(self, other: LexiconHits) -> LexiconHits:
        """Both readings' hits together (the original and the de-obfuscated text): the stricter."""
        clear = self.clear | other.clear
        borderline = (self.borderline | other.borderline) - clear
        return LexiconHits(clear, borderline, self.minor or other.minor)

    @property
    def empty(self) -> bool:
        return not (self.clear or self.borderline or self.minor)


@dataclass(frozen=True)
class _Entry:
    category: str
    severity: str
    patterns: re.Pattern[str]
    unless: re.Pattern[str] | None
    person: bool  # only counts when the prompt names a public figure


class Lexicon:
    """The compiled `data/lexicon.toml`. Immutable after construction, so safe to share between threads."""

    def __init__(
        self,
        safe: list[str],
        minors: list[str],
        entries: list[dict[str, Any]],
        *,
        folded: bool = False,
        folded_safe: tuple[str, ...] | list[str] = (),
    ) -> None:
        """`entries`: the `[[entry]]` tables of the TOML file, as `tomllib` reads them (hence `Any`).
        `folded`: compile every pattern through :func:`fold_pattern`, to scan text passed through
        :func:`~gazo.moderation.normalise.fold_kana` (so ぬーど meets the entry ヌード); `folded_safe`:
        everyday hiragana words that folding would turn into a listed term (あそこ, "over there")."""
        fold = fold_pattern if folded else None
        self._safe = _alternation([*safe, *folded_safe] if folded else safe, fold)
        self._minors = _alternation(minors, fold)
        self._entries = []
        for entry in entries:
            patterns = _alternation(list(entry["patterns"]), fold)
            assert patterns is not None
            unless = _alternation(list(entry.get("unless", [])), fold)
            category, severity = str(entry["category"]), str(entry["severity"])
            self._entries.append(_Entry(category, severity, patterns, unless, bool(entry.get("person"))))

    @classmethod
    def load(cls, path: Path = DATA_DIR / "lexicon.toml", *, folded: bool = False) -> Lexicon:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        folded_safe = data["safe"].get("folded", [])
        return cls(
            data["safe"]["patterns"],
            data["minors"]["patterns"],
            data["entries"],
            folded=folded,
            folded_safe=folded_safe,
        )

    def mask(self, normalized: str) -> str:
        """Blank out the safe phrases ("killer whale", "breast cancer") so no pattern sees them."""
        return self._safe.sub(" ", normalized) if self._safe else normalized

    def scan(self, normalized: str, *, person: bool = False) -> LexiconHits:
        """Hits in an already :func:`normalize`-d text (also checked with leetspeak undone); `person`:
        the text names a public figure, which makes some terms (nudity) clear violations."""
        masked = self.mask(normalized)
        variants = (masked, masked.translate(_LEET))
        clear: set[str] = set()
        borderline: set[str] = set()
        for entry in self._entries:
            if (entry.person and not person) or (entry.unless is not None and entry.unless.search(masked)):
                continue
            if any(entry.patterns.search(text) for text in variants):
                (clear if entry.severity == "clear" else borderline).add(entry.category)
        minor = bool(self._minors and self._minors.search(masked)) or _mentions_minor_age(masked)
        return LexiconHits(frozenset(clear), frozenset(borderline - clear), minor)


def _mentions_minor_age(text: str) -> bool:
    for match in _AGE.finditer(text):
        raw = match["n"] or match["aged"] or match["ja"]
        age = _NUMBER_WORDS.index(raw) + 1 if raw in _NUMBER_WORDS else int(raw)
        if 0 < age < 18:
            return True
    return False


def load_people(path: Path = PEOPLE_FILE) -> list[list[str]]:
    """Each public figure as the list of forms a prompt may name them by."""
    people = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            people.append([form.strip() for form in line.split("|") if form.strip()])
    return people


class PeopleIndex:
    """Finds named public figures (`data/people.txt`) in a normalised prompt."""

    def __init__(self, people: list[list[str]]) -> None:
        forms = sorted({normalize(form) for person in people for form in person}, key=len, reverse=True)
        parts = [rf"\b{re.escape(f)}\b" if f.isascii() else re.escape(f) for f in forms]
        self._pattern = _alternation(parts)

    @classmethod
    def load(cls) -> PeopleIndex:
        return cls(load_people())

    def mentions_person(self, normalized: str) -> bool:
        return bool(self._pattern and self._pattern.search(normalized))
