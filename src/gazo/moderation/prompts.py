"""The prompt check: lexicon, trained classifier and the list of public figures, decided by `policy`.

Everything heavy (the MiniLM graph, the head's weights) loads once in :meth:`PromptModerator.load` (the
graph is the process's shared one, :func:`gazo.embedding.shared_encoder`, which the built-in engine uses too);
after that the moderator holds only immutable objects, so any number of threads may call
:meth:`check` at once. The classifier reads at most 256 tokens at a time, so a long prompt is read
in overlapping windows and each class keeps its highest probability: nothing hides at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from gazo.embedding import MiniLMEncoder, shared_encoder
from gazo.moderation.base import Strictness, Verdict
from gazo.moderation.classifier import Head, extract
from gazo.moderation.lexicon import Lexicon, LexiconHits, PeopleIndex, normalize
from gazo.moderation.policy import Thresholds, decide


@dataclass(frozen=True)
class Analysis:
    """Everything about a prompt that does not depend on the level: decided per level by `policy`."""

    probs: dict[str, float]
    hits: LexiconHits
    person: bool


class PromptModerator:
    """Checks prompt text. Construct cheaply, :meth:`load` once, then :meth:`check` from any thread."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._lexicon = Lexicon.load()
        self._people = PeopleIndex.load()
        self._encoder: MiniLMEncoder | None = None
        self._head: Head | None = None

    def load(self) -> None:
        """Get the shared MiniLM graph (built on first use, about a second) and read the head; call once,
        before serving."""
        head = Head.load()
        self._encoder = shared_encoder()
        self._head = head

    @property
    def loaded(self) -> bool:
        return self._head is not None

    def analyse(self, text: str) -> Analysis:
        if self._encoder is None or self._head is None:
            raise RuntimeError("PromptModerator.load() must run before checks")
        normalized = normalize(text)
        probs = self._head.probabilities(extract(self._encoder, text, normalized))
        person = self._people.mentions_person(normalized)
        return Analysis(probs, self._lexicon.scan(normalized, person=person), person)

    def check(self, text: str, level: Strictness, *, allowed: str | None = None) -> Verdict:
        """Verdict on `text` at `level`. `allowed` is `text` with operator allow-listed phrases removed:
        it is what the check reads, except that sexual/minors is always judged on the full text."""
        if not text.strip():
            return Verdict.allowed(level)
        analysis = self.analyse(text if allowed is None else allowed)
        category, scores = decide(analysis.probs, analysis.hits, analysis.person, level, self.thresholds)
        if allowed is not None and allowed != text and category != "sexual/minors":
            full = self.analyse(text)
            full_category, full_scores = decide(full.probs, full.hits, full.person, level, self.thresholds)
            if full_category == "sexual/minors":
                category, scores = full_category, full_scores
        if category is None:
            return Verdict.allowed(level, scores)
        return Verdict.flagged("prompt", category, level, scores)
