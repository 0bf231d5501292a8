"""The trained prompt classifier: MiniLM sentence vectors + hashed words and characters -> a linear head.

Why these features: MiniLM understands English paraphrase ("a blade at her throat" sits near "a knife
to her throat") but is English-only: most kanji are unknown to its vocabulary. Japanese prompts are
read through hashed character 1-3-grams, which need no word segmentation and carry most of the
meaning of a short Japanese phrase; English words and word pairs are hashed into the same space,
which sharpens what the sentence vector blurs ("killer whale" vs "killer"). One multinomial
logistic-regression head over all of it (a few hundred KB of float16 weights, trained by
``python -m gazo.moderation.train``) gives a probability for each category at each severity.
Everything here is immutable after load, so one instance serves every thread.

A second head (``head-e5.npz``, issue 21) reads the same features plus a multilingual-e5-small vector
(:mod:`~gazo.moderation.multilingual`), which understands Japanese where MiniLM cannot; it costs 6-9x
more, so it is consulted only when the first head is unsure (:class:`~gazo.moderation.policy.Escalation`).
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gazo.embedding import MiniLMEncoder
from gazo.moderation.base import DATA_DIR

HEAD_FILE = DATA_DIR / "head.npz"
MULTILINGUAL_HEAD_FILE = DATA_DIR / "head-e5.npz"
BUCKETS = 8192
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SAFE = "safe"


def is_cjk(char: str) -> bool:
    """Kana, kanji and CJK punctuation: the characters MiniLM cannot read."""
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF66 <= code <= 0xFF9F


def hashed_terms(normalized: str) -> np.ndarray:
    """Sorted unique hash buckets of a normalised text's character 1-3-grams (CJK runs) and words and
    word pairs (everything else): the lexical half of the features, next to MiniLM's semantic half."""
    runs, current = [], []
    for char in normalized:
        if is_cjk(char):
            current.append(char)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    terms = {"c:" + run[i : i + n] for run in runs for n in (1, 2, 3) for i in range(len(run) - n + 1)}
    words = _WORD.findall(normalized)
    terms.update("w:" + w for w in words)
    terms.update(f"w:{a} {b}" for a, b in itertools.pairwise(words))
    return np.array(sorted({zlib.crc32(t.encode("utf-8")) % BUCKETS for t in terms}), dtype=np.int64)


@dataclass(frozen=True)
class Features:
    """One prompt's inputs to the head: a sentence vector per 256-token window, and n-gram buckets."""

    vectors: np.ndarray  # (windows, 384)
    terms: np.ndarray  # hash bucket indices
    japanese: float  # 1.0 when the prompt has any kana or kanji

    def dense(self) -> np.ndarray:
        """The first window's full feature row (what training uses; training prompts are short)."""
        terms = np.zeros(BUCKETS, dtype=np.float32)
        if self.terms.size:
            terms[self.terms] = 1.0 / np.sqrt(self.terms.size)
        return np.concatenate([self.vectors[0], terms, [self.japanese]]).astype(np.float32)


def extract(encoder: MiniLMEncoder, text: str, normalized: str) -> Features:
    japanese = 1.0 if any(is_cjk(char) for char in normalized) else 0.0
    return Features(encoder.encode_windows(text), hashed_terms(normalized), japanese)


def with_multilingual(features: Features, vector: np.ndarray) -> Features:
    """The second head's features: each MiniLM window followed by the prompt's e5 vector."""
    tiled = np.broadcast_to(vector.astype(np.float32), (features.vectors.shape[0], vector.shape[-1]))
    return Features(np.concatenate([features.vectors, tiled], axis=1), features.terms, features.japanese)


@dataclass(frozen=True)
class Head:
    """Linear weights over [vector, n-grams, japanese flag], one column per class."""

    weights: np.ndarray  # (384 + BUCKETS + 1, classes)
    bias: np.ndarray
    classes: tuple[str, ...]
    data_sha256: str

    @classmethod
    def load(cls, path: Path = HEAD_FILE) -> Head:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                data["weights"].astype(np.float32), data["bias"], tuple(meta["classes"]), meta["data_sha256"]
            )

    def save(self, path: Path = HEAD_FILE) -> None:
        meta = json.dumps({"classes": list(self.classes), "data_sha256": self.data_sha256})
        # float16 halves the file; the logits move by < 1e-3.
        np.savez_compressed(
            path, weights=self.weights.astype(np.float16), bias=self.bias, meta=np.array(meta)
        )

    def probabilities(self, features: Features) -> dict[str, float]:
        """Class probabilities; for a long prompt, each class's highest over its windows."""
        dim = features.vectors.shape[1]
        logits = features.vectors @ self.weights[:dim] + self.bias + features.japanese * self.weights[-1]
        if features.terms.size:
            logits = logits + self.weights[dim + features.terms].sum(axis=0) / np.sqrt(features.terms.size)
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return dict(zip(self.classes, probs.max(axis=0).tolist(), strict=True))
