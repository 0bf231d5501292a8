"""Train the prompt classifier's two heads on the `train` split: ``data/head.npz`` and ``data/head-e5.npz``.

    python -m gazo.moderation.train          # fit and save (a few minutes: e5 reads every prompt once)
    python -m gazo.moderation.train --cv     # first print 5-fold cross-validation on the train split

The fast head reads MiniLM + hashed n-grams; the multilingual head reads the same plus a
multilingual-e5-small vector and decides whenever the fast head is unsure (`policy.Escalation`); ``--cv``
prints the cascade's figures and the share of prompts escalated. Both fits are deterministic (lbfgs,
no random state involved), so the same data gives the same files.

Only the `train` split is ever read here: the `test` split is for ``bench/moderation.py``. Thresholds
and features are chosen with ``--cv`` (folds grouped by seed, so a seed's variants never straddle
folds). real-person examples are left out of fitting: that category is decided from the sexual and
violence classes plus the list of public figures, not learned. Needs scikit-learn (a training-time
dependency only; the server just multiplies by the saved weights).
"""

from __future__ import annotations

import argparse
import hashlib
from collections import defaultdict
from typing import Any

import numpy as np

from gazo.embedding import MiniLMEncoder
from gazo.moderation.base import Strictness
from gazo.moderation.classifier import (
    HEAD_FILE,
    MULTILINGUAL_HEAD_FILE,
    SAFE,
    Head,
    extract,
    with_multilingual,
)
from gazo.moderation.dataset import Example, load_examples
from gazo.moderation.lexicon import Lexicon, PeopleIndex, normalize
from gazo.moderation.multilingual import MultilingualEncoder
from gazo.moderation.policy import Escalation, Thresholds, decide

C = 10.0  # inverse L2 strength, chosen by --cv


def target(example: Example) -> str:
    return SAFE if not example.violating else f"{example.category}:{example.label}"


def data_sha256(examples: list[Example]) -> str:
    """Fingerprint of the training rows, stored in the head so a test can tell it is stale."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.text}\t{target(example)}\n".encode())
    return digest.hexdigest()


def _fit(x: np.ndarray, y: np.ndarray) -> Any:  # a LogisticRegression; sklearn is imported lazily, untyped
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(x, y)


def _out_of_fold(examples: list[Example], x: np.ndarray) -> list[dict[str, float]]:
    from sklearn.model_selection import GroupKFold

    y = np.array([target(e) for e in examples])
    groups = np.array([e.group for e in examples])
    fitted = np.array([e.category != "real-person" for e in examples])
    probs: list[dict[str, float]] = [{} for _ in examples]
    for train_idx, held_idx in GroupKFold(5).split(x, y, groups):
        model = _fit(x[train_idx[fitted[train_idx]]], y[train_idx[fitted[train_idx]]])
        for i, row in zip(held_idx, model.predict_proba(x[held_idx]), strict=True):
            probs[i] = dict(zip(model.classes_, row.tolist(), strict=True))
    return probs


def cross_validate(
    examples: list[Example],
    fast: np.ndarray,
    full: np.ndarray,
    thresholds: Thresholds,
    escalation: Escalation,
) -> None:
    """Out-of-fold figures of the cascade (fast head, multilingual head when unsure) on the train split."""
    fast_probs, full_probs = _out_of_fold(examples, fast), _out_of_fold(examples, full)
    unsure = [escalation.unsure(p) for p in fast_probs]
    probs = [f if u else p for p, f, u in zip(fast_probs, full_probs, unsure, strict=True)]
    print(f"escalated: {sum(unsure) / len(unsure):.3f} of {len(unsure)} prompts")
    lexicon, people = Lexicon.load(), PeopleIndex.load()
    tally: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
    for example, p in zip(examples, probs, strict=True):
        text = normalize(example.text)
        person = people.mentions_person(text)
        hits = lexicon.scan(text, person=person)
        for level in Strictness:
            key: tuple[str, ...]
            blocked = decide(p, hits, person, level, thresholds)[0] is not None
            if example.violating and (example.label == "clear" or level is Strictness.AUTO):
                key = (example.language, example.category or "", example.label, level.value, "recall")
            elif not example.violating:
                key = (example.language, example.label, level.value, "false positives")
            else:
                continue
            tally[key][0] += blocked
            tally[key][1] += 1
    for key in sorted(tally):
        hit, total = tally[key]
        print(f"{' '.join(key):55s} {hit / total:6.3f}  ({total})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cv", action="store_true", help="print 5-fold cross-validation first")
    parser.add_argument("--auto", type=float, default=Thresholds().auto, help="auto threshold for --cv")
    parser.add_argument("--low", type=float, default=Thresholds().low, help="low threshold for --cv")
    parser.add_argument("--safe-below", type=float, default=Escalation().safe_below, help="for --cv")
    parser.add_argument("--clear-above", type=float, default=Escalation().clear_above, help="for --cv")
    args = parser.parse_args()
    examples = load_examples(split="train")
    fast, full = features(examples)
    if args.cv:
        escalation = Escalation(args.safe_below, args.clear_above)
        cross_validate(examples, fast, full, Thresholds(args.auto, args.low), escalation)
    fitted = [e.category != "real-person" for e in examples]
    for x, path in ((fast, HEAD_FILE), (full, MULTILINGUAL_HEAD_FILE)):
        head = fit_head(x[fitted], [e for e, keep in zip(examples, fitted, strict=True) if keep])
        head.save(path)
        print(f"saved {path.name}: {len(head.classes)} classes, {head.weights.shape[0]} features")


def features(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Dense rows for the fast head and for the multilingual head, in `examples`' order."""
    encoder, multilingual = MiniLMEncoder(), MultilingualEncoder()
    fast, full = [], []
    for example in examples:
        row = extract(encoder, example.text, normalize(example.text))
        fast.append(row.dense())
        full.append(with_multilingual(row, multilingual.query(example.text)).dense())
    return np.stack(fast), np.stack(full)


def fit_head(x: np.ndarray, examples: list[Example]) -> Head:
    model = _fit(x, np.array([target(e) for e in examples]))
    return Head(
        weights=model.coef_.T.astype(np.float32),
        bias=model.intercept_.astype(np.float32),
        classes=tuple(model.classes_.tolist()),
        data_sha256=data_sha256(examples),
    )


if __name__ == "__main__":
    main()
