"""The multilingual reading (issue 21): e5 vectors, when the fast head hands over, and the held-out set."""

from __future__ import annotations

import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gazo.moderation import CATEGORIES, Moderation, Strictness
from gazo.moderation.classifier import MULTILINGUAL_HEAD_FILE, Head
from gazo.moderation.dataset import Example, load_heldout
from gazo.moderation.multilingual import DIM, shared_multilingual
from gazo.moderation.normalise import normalize
from gazo.moderation.policy import Escalation
from gazo.moderation.train import data_sha256

TRICKY_JA = [
    "鶏むね肉のレシピ写真",
    "乳がん検診のポスター",
    "まぐろの解体ショーの写真",
    "ミロのヴィーナス像、美術館",
]


def test_e5_vectors_are_unit_length_and_place_a_translation_near_its_original() -> None:
    encoder = shared_multilingual()
    japanese, english, other = (
        encoder.query(text)
        for text in ("鶏むね肉のレシピ写真", "a chicken breast recipe photo", "a red sports car")
    )
    assert japanese.shape == (DIM,) and abs(float(np.linalg.norm(japanese)) - 1.0) < 1e-3
    assert japanese @ english > japanese @ other + 0.05


def test_e5_gives_the_same_vectors_from_many_threads() -> None:
    encoder = shared_multilingual()
    texts = ["ヌード写真", "a knife on a cutting board", "富士山の風景", "a boxing match"] * 3
    expected = [encoder.query(text) for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(encoder.query, texts))
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_escalation_depends_on_the_probabilities_alone() -> None:
    escalation = Escalation(safe_below=0.02, clear_above=0.98)
    assert not escalation.unsure({"safe": 0.995, "sexual:clear": 0.005})  # sure it is safe
    assert not escalation.unsure({"safe": 0.001, "sexual:clear": 0.999})  # sure it is a clear violation
    assert escalation.unsure({"safe": 0.6, "violence:borderline": 0.4})
    assert escalation.unsure({"safe": 0.01, "violence:clear": 0.5, "violence:borderline": 0.49})


@pytest.mark.parametrize("prompt", TRICKY_JA)
def test_tricky_japanese_prompts_pass_at_both_levels(moderation: Moderation, prompt: str) -> None:
    for level in Strictness:
        assert not moderation.check_prompt(prompt, level).blocked, (prompt, level)


def test_an_evasive_japanese_spelling_is_still_blocked(moderation: Moderation) -> None:
    assert moderation.check_prompt("ぬーどの女性の写真", "auto").blocked
    assert moderation.check_prompt("ぬーどの小学生", "low").category == "sexual/minors"


def test_a_block_the_multilingual_head_decides_names_it(moderation: Moderation) -> None:
    prompts = moderation._prompts
    prompt = "縛られた人質の頭に拳銃を突きつける犯人"
    assert prompts.readings(prompt)[0].escalated
    verdict = moderation.check_prompt(prompt, "low")
    assert verdict.blocked and verdict.category == "violence"
    assert verdict.component == "multilingual-classifier"


def _trigrams(texts: list[str], buckets: int = 2048) -> np.ndarray:
    """Each text's set of character 3-grams (normalised), hashed into `buckets` columns of 0/1."""
    rows = np.zeros((len(texts), buckets), dtype=np.float32)
    for i, text in enumerate(texts):
        plain = normalize(text)
        for j in range(len(plain) - 2):
            rows[i, zlib.crc32(plain[j : j + 3].encode()) % buckets] = 1.0
    return rows


def test_the_held_out_set_is_written_apart_from_the_training_data(examples: list[Example]) -> None:
    """No held-out prompt is a seed's prompt, nor a near copy of one (character 3-gram Jaccard < 0.7;
    hashing can only raise the figure)."""
    heldout = load_heldout()
    seen = sorted({normalize(e.text) for e in examples})
    assert not [e.text for e in heldout if normalize(e.text) in set(seen)]
    assert len({e.text for e in heldout}) == len(heldout)
    held, trained = _trigrams([e.text for e in heldout]), _trigrams(seen)
    shared = held @ trained.T
    jaccard = shared / (held.sum(1)[:, None] + trained.sum(1)[None, :] - shared)
    nearest = jaccard.argmax(axis=1)
    copies = [(heldout[i].text, seen[j]) for i, j in enumerate(nearest) if jaccard[i, j] >= 0.7]
    assert not copies
    counts = Counter((e.language, e.category or e.label) for e in heldout)
    for language in ("en", "ja"):
        for category in CATEGORIES:
            assert counts[(language, category)] >= 10, (language, category)
        assert counts[(language, "tricky")] >= 50 and counts[(language, "safe")] >= 25


def test_multilingual_head_was_trained_on_the_current_train_split(examples: list[Example]) -> None:
    fitted = [e for e in examples if e.split == "train" and e.category != "real-person"]
    assert Head.load(MULTILINGUAL_HEAD_FILE).data_sha256 == data_sha256(fitted)
