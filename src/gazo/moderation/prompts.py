"""The prompt check: lexicon, trained classifier and the list of public figures, decided by `policy`.

Everything heavy (the MiniLM graph, the head's weights) loads once in :meth:`PromptModerator.load` (the
graph is the process's shared one, :func:`gazo.embedding.shared_encoder`, which the built-in engine uses too);
after that the moderator holds only immutable objects, so any number of threads may call
:meth:`check` at once. The classifier reads at most 256 tokens at a time, so a long prompt is read
in overlapping windows and each class keeps its highest probability: nothing hides at the end.

Two heads read a prompt (issue 21): the fast one (MiniLM + hashed n-grams, about 3 ms) always, and the
multilingual one (the same features plus a multilingual-e5-small vector, about 20 ms more) only when the
fast one is unsure (`policy.Escalation`); then the multilingual head's probabilities are the ones decided
on, at both levels alike, and a block it decides is named ``multilingual-classifier`` to the operator.
The e5 model is loaded in :meth:`PromptModerator.load` next to MiniLM (about 0.1 s).

Evasive spellings (``n.u.d.e``, ``ぬーど``, ``zenra``, ``🔞``) are undone by :mod:`~gazo.moderation.normalise`
before the classifiers read the prompt. The original is read too, and the stricter reading wins: a
rewrite can only add a block, never lift one, so "whatever `low` blocks, `auto` blocks" still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from gazo.embedding import MiniLMEncoder, shared_encoder
from gazo.moderation.base import Strictness, Verdict
from gazo.moderation.classifier import MULTILINGUAL_HEAD_FILE, Head, extract, with_multilingual
from gazo.moderation.lexicon import Lexicon, LexiconHits, PeopleIndex
from gazo.moderation.multilingual import MultilingualEncoder, shared_multilingual
from gazo.moderation.normalise import deobfuscate, fold_kana, normalize
from gazo.moderation.policy import ESCALATION, Escalation, Thresholds, decide

_MINORS = "sexual/minors"
_REAL_PERSON = "real-person"


#: The classifier reads at most this much of the de-obfuscated prompt, the API's own prompt limit:
#: emoji read as words can make it 3.5x longer than what was sent (a 28,000-character prompt of emoji
#: became 98,000 characters and 3.4 s of classifier time), and the longest prompt is what one request
#: may cost. The word lists still scan all of it.
MOST_CLASSIFIED_CHARS = 32_000


@dataclass(frozen=True)
class Analysis:
    """Everything about one reading of a prompt that does not depend on the level: decided per level
    by `policy`. `normalised`: this reading needed the de-obfuscated text to see what it sees."""

    probs: dict[str, float]
    hits: LexiconHits
    person: bool
    normalised: bool = False
    escalated: bool = False


@dataclass(frozen=True)
class Decision:
    """What the stricter reading decided at one level, and which component and reading decided it."""

    category: str | None
    scores: dict[str, float]
    component: str | None = None
    normalised: bool = False


def _rank(decision: Decision) -> tuple[bool, bool, bool, bool]:
    return (
        decision.category == _MINORS,
        decision.category == _REAL_PERSON,
        decision.component == "lexicon",
        decision.category is not None,
    )


def _classifier_name(analysis: Analysis) -> str:
    return "multilingual-classifier" if analysis.escalated else "classifier"


class PromptModerator:
    """Checks prompt text. Construct cheaply, :meth:`load` once, then :meth:`check` from any thread.

    `normalise=False` reads only the prompt as written (the bench's "before" figures). `escalation=None`
    never consults the multilingual head, and `head` replaces the fast head's file (the bench's "before":
    an older head, alone)."""

    def __init__(
        self,
        thresholds: Thresholds,
        *,
        normalise: bool = True,
        escalation: Escalation | None = ESCALATION,
        head: Path | None = None,
    ) -> None:
        self.thresholds = thresholds
        self.normalise = normalise
        self.escalation = escalation
        self._head_file = head
        self._lexicon = Lexicon.load()
        self._folded = Lexicon.load(folded=True)
        self._people = PeopleIndex.load()
        self._encoder: MiniLMEncoder | None = None
        self._multilingual: MultilingualEncoder | None = None
        self._multilingual_head: Head | None = None
        self._head: Head | None = None

    def load(self) -> None:
        """Get the shared MiniLM graph (built on first use, about a second) and the shared e5 model (about
        0.1 s), and read both heads; call once, before serving."""
        head = Head.load(self._head_file) if self._head_file else Head.load()
        if self.escalation is not None:
            self._multilingual_head = Head.load(MULTILINGUAL_HEAD_FILE)
            multilingual = shared_multilingual()
            multilingual.load()
            self._multilingual = multilingual
        self._encoder = shared_encoder()
        self._head = head

    @property
    def loaded(self) -> bool:
        return self._head is not None

    def _probabilities(self, text: str, normalized: str) -> tuple[dict[str, float], bool]:
        """Class probabilities, and whether the multilingual head gave them (the fast head was unsure)."""
        if self._encoder is None or self._head is None:
            raise RuntimeError("PromptModerator.load() must run before checks")
        features = extract(self._encoder, text, normalized)
        probs = self._head.probabilities(features)
        if self.escalation is None or not self.escalation.unsure(probs):
            return probs, False
        assert self._multilingual is not None and self._multilingual_head is not None
        vector = self._multilingual.query(text)
        return self._multilingual_head.probabilities(with_multilingual(features, vector)), True

    def analyse(self, text: str) -> Analysis:
        """The prompt as written, with no evasion undone (the first of :meth:`readings`)."""
        normalized = normalize(text)
        person = self._people.mentions_person(normalized)
        probs, escalated = self._probabilities(text, normalized)
        hits = self._lexicon.scan(normalized, person=person)
        return Analysis(probs, hits, person, escalated=escalated)

    def readings(self, text: str) -> list[Analysis]:
        """The prompt as written, then (when normalising changes anything) the same classifier output with
        the de-obfuscated text's lexicon hits added, then the classifier on the de-obfuscated text."""
        original = self.analyse(text)
        if not self.normalise:
            return [original]
        normalized, plain = normalize(text), deobfuscate(text)
        person = original.person or self._people.mentions_person(plain)
        hits = original.hits | self._folded.scan(fold_kana(plain), person=person)
        if person != original.person:
            hits = hits | self._lexicon.scan(normalized, person=person)
        analyses = [original]
        if hits != original.hits or person != original.person:
            analyses.append(Analysis(original.probs, hits, person, True, original.escalated))
        if plain != normalized:
            read = plain[:MOST_CLASSIFIED_CHARS]
            probs, escalated = self._probabilities(read, read)
            analyses.append(Analysis(probs, hits, person, normalised=True, escalated=escalated))
        return analyses

    def decide(self, text: str, level: Strictness) -> Decision:
        """The stricter of the readings at `level`: any block over none; among blocks, sexual/minors,
        then real-person, then a word-list decision (a named term says more than a score), then the
        first reading."""
        chosen: Decision | None = None
        for analysis in self.readings(text):
            category, scores = decide(analysis.probs, analysis.hits, analysis.person, level, self.thresholds)
            if category is None:
                chosen = chosen or Decision(None, scores)
                continue
            lexical, _ = decide({}, analysis.hits, analysis.person, level, self.thresholds)
            component = "lexicon" if lexical is not None else _classifier_name(analysis)
            candidate = Decision(category, scores, component, analysis.normalised)
            if chosen is None or _rank(candidate) > _rank(chosen):
                chosen = candidate
        assert chosen is not None
        return chosen

    def check(self, text: str, level: Strictness, *, allowed: str | None = None) -> Verdict:
        """Verdict on `text` at `level`. `allowed` is `text` with operator allow-listed phrases removed:
        it is what the check reads, except that sexual/minors is always judged on the full text."""
        if not text.strip():
            return Verdict.allowed(level)
        decision = self.decide(text if allowed is None else allowed, level)
        if allowed is not None and allowed != text and decision.category != _MINORS:
            full = self.decide(text, level)
            if full.category == _MINORS:
                decision = full
        if decision.category is None:
            return Verdict.allowed(level, decision.scores)
        verdict = Verdict.flagged("prompt", decision.category, level, decision.scores, decision.component)
        return replace(verdict, normalised=decision.normalised)
