"""How classifier probabilities and lexicon hits become a decision at a strictness level.

Whether to block and which category to name are separate questions. Blocking looks at totals: `low`
blocks when the probability of a clear violation (every category's clear class together) reaches the
`low` threshold; `auto` blocks whatever `low` blocks and, besides, when the probability of any
violation (clear or borderline) reaches the `auto` threshold. So a prompt the classifier cannot place
between "violence" and "violence/graphic" is still blocked, and the category named is the one holding
most of the probability.

"Whatever `low` blocks, `auto` blocks" holds by construction, not by tuning: `auto` starts from
`low`'s decision, clear lexicon terms block at both levels, and sexual/minors is decided the same way
at both levels. The two thresholds are therefore free to differ in either direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from gazo.moderation.base import CATEGORIES, Strictness
from gazo.moderation.lexicon import LexiconHits

#: What a lexicon hit scores: certain.
LEXICON_SCORE = 1.0
#: Categories whose depiction of a named real person is the `real-person` violation.
_DEPICTION = frozenset({"sexual", "violence", "violence/graphic"})
_SEXUAL = frozenset({"sexual", "sexual/minors"})
_MINORS = "sexual/minors"
_MINORS_UNMARKED = 0.7
_REAL_PERSON = "real-person"
_CLASSIFIED = tuple(c for c in CATEGORIES if c != _REAL_PERSON)


@dataclass(frozen=True)
class Thresholds:
    """`auto`: probability of any violation that blocks at `auto`; `low`: probability of a clear
    violation that blocks at both levels."""

    auto: float = 0.5
    low: float = 0.4

    def __post_init__(self) -> None:
        if not (0.0 < self.auto <= 1.0 and 0.0 < self.low <= 1.0):
            raise ValueError("thresholds must lie in (0, 1]")


@dataclass(frozen=True)
class Escalation:
    """When the fast head (MiniLM + n-grams) is unsure enough that the multilingual head decides instead.

    Sure means: the probability of any violation is below `safe_below` (sure it is safe), or the
    probability of a clear violation is above `clear_above` (sure it blocks at both levels). Anything
    between is read again with multilingual-e5. The test depends on the probabilities only, never on the
    level, so both levels judge the same probabilities and "whatever `low` blocks, `auto` blocks" still
    holds. Chosen with ``python -m gazo.moderation.train --cv`` (issue 21): with this band the cascade's
    out-of-fold figures equal the multilingual head's own on every row, while about half of the training
    prompts (a quarter of the safe ones) skip e5; a band of 0.5 lost 2 points of clear recall.
    """

    safe_below: float = 0.1
    clear_above: float = 0.9

    def unsure(self, probs: dict[str, float]) -> bool:
        violation = 1.0 - probs.get("safe", 1.0)
        clear = sum(p for name, p in probs.items() if name.endswith(":clear"))
        return violation >= self.safe_below and clear <= self.clear_above


#: The band the shipped heads were chosen with.
ESCALATION = Escalation()


def category_scores(probs: dict[str, float], hits: LexiconHits, level: Strictness) -> dict[str, float]:
    """Each category's probability at `level` (clear only at `low`); 1.0 where a lexicon term applies."""
    scores = {}
    for category in _CLASSIFIED:
        score = probs.get(f"{category}:clear", 0.0)
        if level is Strictness.AUTO:
            score += probs.get(f"{category}:borderline", 0.0)
        if category in hits.clear or (level is Strictness.AUTO and category in hits.borderline):
            score = LEXICON_SCORE
        scores[category] = round(min(score, 1.0), 4)
    return scores


def decide(
    probs: dict[str, float], hits: LexiconHits, person: bool, level: Strictness, thresholds: Thresholds
) -> tuple[str | None, dict[str, float]]:
    """The category that blocks at `level` (None: allowed) and the per-category scores behind it."""
    scores = category_scores(probs, hits, level)
    minors = _minors(probs, hits, thresholds)
    if minors:
        scores[_MINORS] = max(scores[_MINORS], minors)
        scores[_REAL_PERSON] = 0.0
        return _MINORS, scores
    category = _blocking(probs, hits, Strictness.LOW, thresholds)
    if category is None and level is Strictness.AUTO:
        category = _blocking(probs, hits, Strictness.AUTO, thresholds)
    scores[_REAL_PERSON] = max(scores[c] for c in _DEPICTION) if person else 0.0
    if category is not None and person and category in _DEPICTION:
        category = _REAL_PERSON
    return category, scores


def _blocking(
    probs: dict[str, float], hits: LexiconHits, level: Strictness, thresholds: Thresholds
) -> str | None:
    """The category a level's own test blocks: a lexicon term, else the classifier's total."""
    scores = category_scores(probs, hits, level)
    if level is Strictness.LOW:
        lexical, total, limit = (
            hits.clear,
            sum(probs.get(f"{c}:clear", 0.0) for c in _CLASSIFIED),
            thresholds.low,
        )
    else:
        lexical, total, limit = hits.clear | hits.borderline, 1.0 - probs.get("safe", 1.0), thresholds.auto
    # sexual/minors is decided by `_minors` alone; here its probability counts as sexual.
    scores["sexual"] += scores.pop(_MINORS)
    candidates = set(lexical or (_CLASSIFIED if total >= limit else ())) - {_MINORS}
    return max(candidates, key=lambda c: scores[c], default=None)


def _minors(probs: dict[str, float], hits: LexiconHits, thresholds: Thresholds) -> float:
    """sexual/minors, level-independent: the classifier's leading category (unless a clear term says
    otherwise, as in "a girl cutting her wrists"), or a child word plus an adult-sexual signal."""
    model = category_scores(probs, LexiconHits(frozenset(), frozenset(), False), Strictness.AUTO)
    leading = model[_MINORS] >= max(model.values()) and not (hits.clear - _SEXUAL)
    # Without a child word the classifier must be sure: it also leans to minors for youthful adults.
    if leading and model[_MINORS] >= max(thresholds.auto, _MINORS_UNMARKED if not hits.minor else 0.0):
        return model[_MINORS]
    if not hits.minor:
        return 0.0
    if (hits.clear | hits.borderline) & _SEXUAL or model["sexual"] >= thresholds.auto:
        return max(model["sexual"], model[_MINORS], thresholds.auto)
    return 0.0
