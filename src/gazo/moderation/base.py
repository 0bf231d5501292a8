"""The moderation vocabulary: categories, strictness levels and the verdict every check returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

#: Labelled prompts, word lists and the trained head, shipped inside the package.
DATA_DIR = Path(__file__).parent / "data"

#: OpenAI's moderation taxonomy, plus sexual or violent depictions of real, named people.
CATEGORIES: tuple[str, ...] = (
    "sexual",
    "sexual/minors",
    "harassment",
    "hate",
    "violence",
    "violence/graphic",
    "self-harm",
    "illicit",
    "real-person",
)

#: What can decide a block, as `Verdict.component` names it in the operator's log.
#: `classifier` is the fast head alone; `multilingual-classifier` the head that reads e5 vectors too,
#: consulted when the fast one is unsure.
COMPONENTS: tuple[str, ...] = ("rule", "lexicon", "classifier", "multilingual-classifier", "image-model")

#: Short, neutral words for a category in a client-facing message.
_DESCRIPTIONS = {
    "sexual": "sexual content",
    "sexual/minors": "sexual content involving minors",
    "harassment": "harassment",
    "hate": "hateful content",
    "violence": "violence",
    "violence/graphic": "graphic violence",
    "self-harm": "self-harm",
    "illicit": "instructions for illegal or dangerous acts",
    "real-person": "a sexual or violent depiction of a real person",
}


class Strictness(StrEnum):
    """The request's `moderation` field: `auto` (standard) also blocks borderline content, `low` only clear
    violations. Whatever `low` blocks, `auto` blocks."""

    AUTO = "auto"
    LOW = "low"

    @classmethod
    def parse(cls, value: str | Strictness) -> Strictness:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"moderation level must be 'auto' or 'low', not {value!r}") from None


@dataclass(frozen=True)
class Verdict:
    """What a check decided. `reason` is safe to show a client: it never quotes the prompt.

    `scores` holds the classifier's per-category scores for the level that was applied (0..1), so the
    caller can record why something was blocked without keeping the prompt itself. `component` tells
    the operator what decided a block (one of :data:`COMPONENTS`) and `normalised` whether it took the
    de-obfuscated reading of the prompt to see it (an evasion attempt); neither reaches the client.
    """

    blocked: bool
    category: str | None = None
    level: str = Strictness.AUTO.value
    scores: dict[str, float] = field(default_factory=dict)
    rule: str | None = None
    reason: str = ""
    component: str | None = None
    normalised: bool = False

    @classmethod
    def allowed(cls, level: Strictness, scores: dict[str, float] | None = None) -> Verdict:
        return cls(blocked=False, level=level.value, scores=scores or {}, reason="allowed")

    @classmethod
    def flagged(
        cls,
        subject: str,
        category: str,
        level: Strictness,
        scores: dict[str, float],
        component: str | None = None,
    ) -> Verdict:
        """A block in `category`; `component` defaults to the image model for an image, else the
        classifier (the prompt check names the lexicon itself when a word list decided)."""
        reason = (
            f"Your request was rejected by the safety system: the {subject} appears to contain "
            f"{_DESCRIPTIONS[category]} (category {category}, moderation {level.value})."
        )
        component = component or ("image-model" if subject == "image" else "classifier")
        return cls(
            blocked=True,
            category=category,
            level=level.value,
            scores=scores,
            reason=reason,
            component=component,
        )
