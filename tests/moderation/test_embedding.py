"""gazo's onnxruntime MiniLM against sentence-transformers' own vectors (stored, so no torch here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gazo.moderation import Moderation

REFERENCE = Path(__file__).with_name("minilm_reference.npz")


def test_int8_graph_stays_close_to_the_real_model(moderation: Moderation) -> None:
    reference = np.load(REFERENCE)
    encoder = moderation._prompts._encoder
    assert encoder is not None
    vectors = encoder.encode([str(s) for s in reference["sentences"]])
    cosines = (vectors * reference["vectors"]).sum(axis=1)
    assert cosines.min() > 0.97, cosines


def test_long_text_is_read_in_windows(moderation: Moderation) -> None:
    encoder = moderation._prompts._encoder
    assert encoder is not None
    assert encoder.encode_windows("a cat").shape == (1, 384)
    assert encoder.encode_windows("a cat on a mat " * 200).shape[0] > 3
