"""Moderation on the held-out set: recall, false positives and latency, per category, language and level.

Run: ``PYTHONPATH=src python bench/moderation.py [--split heldout|test] [--images 20] [--before-head F]``.
It loads `Moderation` with default settings and checks every prompt of the held-out set
(``data/heldout/{en,ja}.txt``, written apart from the training seeds and never trained on; ``--split
test`` scores the seeds' own held-out split instead) at `auto` and `low`, twice: "before" is the fast
head alone as it was before issue 21 (read from git, ``--before-rev``, or a file, ``--before-head``),
"after" is the current cascade (fast head, then the multilingual head when unsure). It reports:

* recall on clear violations (both levels) and on borderline ones (`auto`), and how often `low` lets
  the borderline through (it should: that is what `low` is for);
* how often a blocked violation got its own category;
* false-positive rates on safe prompts and on tricky-safe ones (hard negatives), per level;
* latency of one `check_prompt` (single thread: average, median, p95) and the share of prompts the
  multilingual head was consulted for, and of one `check_image` on a 1024x1024 picture, plus model
  load time. Targets (issues 4 and 21): recall >= 0.95 on clear violations at both levels in each
  language, false positives on safe and tricky-safe prompts <= 2% per language, evasion recall >=
  0.90, at most 15 ms a prompt on average.

Evasion (issue 21): ``data/evasion/{en,ja}.txt`` holds evasive spellings of clear violations (full-width
letters, spaced or dotted letters, leetspeak, repeated letters, kana variants, romaji, emoji), written
apart from the training seeds, and innocent look-alikes. The bench reports evasion recall per language
and level, and the look-alikes' false positives, before and after (both with normalisation on).

The machine's load average is printed too: on a shared 2-core host, latency moves with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from gazo.moderation import CATEGORIES, Moderation, Strictness
from gazo.moderation.dataset import Example, load_evasions, load_examples, load_heldout
from gazo.moderation.images import ImageModerator, ImageThresholds
from gazo.moderation.policy import Thresholds
from gazo.moderation.prompts import PromptModerator
from gazo.moderation.rules import OrganizationRules
from gazo.settings import ModerationSettings

Tally = dict[tuple[str, ...], list[int]]
_BEFORE, _AFTER = "before (fast head)", "after (cascade)"
#: The last commit before issue 21's heads: its ``head.npz`` is the "before" model.
BEFORE_REV = "44449e3"
_HEAD_PATH = "src/gazo/moderation/data/head.npz"


def _rate(tally: Tally, key: tuple[str, ...]) -> str:
    hit, total = tally.get(key, [0, 0])
    return f"{hit / total:5.3f} ({hit}/{total})" if total else "    -"


def evaluate(moderation: Moderation, examples: list[Example]) -> tuple[Tally, list[float]]:
    tally: Tally = defaultdict(lambda: [0, 0])
    latencies = []
    for example in examples:
        start = time.perf_counter()
        auto = moderation.check_prompt(example.text, Strictness.AUTO)
        latencies.append(time.perf_counter() - start)
        low = moderation.check_prompt(example.text, Strictness.LOW)
        for language in (example.language, "all"):
            if not example.violating:
                for name, verdict in (("auto", auto), ("low", low)):
                    for label in (example.label, "safe+tricky"):
                        tally[(label, language, name)][0] += verdict.blocked
                        tally[(label, language, name)][1] += 1
                continue
            key = (example.category or "", language)
            if example.label == "clear":
                for name, verdict in (("auto", auto), ("low", low)):
                    tally[(*key, "clear", name)][0] += verdict.blocked
                    tally[(*key, "clear", name)][1] += 1
            else:
                tally[(*key, "borderline", "auto")][0] += auto.blocked
                tally[(*key, "borderline", "auto")][1] += 1
                tally[(*key, "borderline", "low-allows")][0] += not low.blocked
                tally[(*key, "borderline", "low-allows")][1] += 1
            if auto.blocked:
                tally[(*key, "category")][0] += auto.category == example.category
                tally[(*key, "category")][1] += 1
            for label in (example.label, "violations"):
                for name, verdict in (("auto", auto), ("low", low)):
                    if name == "auto" or label != "borderline":
                        tally[("all", language, label, name)][0] += verdict.blocked
                        tally[("all", language, label, name)][1] += 1
    return tally, latencies


def print_report(tally: Tally) -> None:
    header = (
        f"{'category':17s} {'lang':4s} {'clear@auto':>16s} {'clear@low':>16s} {'border@auto':>16s} "
        f"{'low allows border':>17s} {'right category':>16s}"
    )
    print(header)
    print("-" * len(header))
    for category in (*CATEGORIES, "all"):
        for language in ("en", "ja", "all"):
            key = (category, language)
            if category == "all":
                cells = [_rate(tally, ("all", language, "clear", lv)) for lv in ("auto", "low")]
                cells += [_rate(tally, ("all", language, "borderline", "auto")), "", ""]
            else:
                cells = [
                    _rate(tally, (*key, "clear", "auto")),
                    _rate(tally, (*key, "clear", "low")),
                    _rate(tally, (*key, "borderline", "auto")),
                    _rate(tally, (*key, "borderline", "low-allows")),
                    _rate(tally, (*key, "category")),
                ]
            print(f"{category:17s} {language:4s} " + " ".join(f"{c:>16s}" for c in cells))
    print()
    print(f"{'false positives':17s} {'lang':4s} {'auto':>16s} {'low':>16s}")
    for label in ("safe", "tricky", "safe+tricky"):
        for language in ("en", "ja", "all"):
            cells = [_rate(tally, (label, language, lv)) for lv in ("auto", "low")]
            print(f"{label:17s} {language:4s} " + " ".join(f"{c:>16s}" for c in cells))


def _summary_rows(tally: Tally) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(row name, language, level, tally key) of the held-out table's summary figures."""
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []
    for language in ("en", "ja", "all"):
        for level in ("auto", "low"):
            rows.append(("clear recall", language, level, ("all", language, "clear", level)))
        rows.append(("borderline recall", language, "auto", ("all", language, "borderline", "auto")))
        for label in ("safe", "tricky", "safe+tricky"):
            for level in ("auto", "low"):
                rows.append((f"{label} FP", language, level, (label, language, level)))
    return [row for row in rows if row[3] in tally]


def print_before_after(before: Tally, after: Tally) -> None:
    """The held-out summary, before (the old fast head alone) and after (the cascade)."""
    print(f"{'held-out summary':19s} {'lang':4s} {'level':5s} {_BEFORE:>20s} {_AFTER:>20s}")
    for name, language, level, key in _summary_rows(after):
        print(f"{name:19s} {language:4s} {level:5s} {_rate(before, key):>20s} {_rate(after, key):>20s}")


def evaluate_evasions(moderation: Moderation, examples: list[Example]) -> Tally:
    """Evasion recall (clear violations, both levels) and look-alike false positives, per language."""
    tally: Tally = defaultdict(lambda: [0, 0])
    for example in examples:
        for level in Strictness:
            verdict = moderation.check_prompt(example.text, level)
            label = "recall" if example.violating else "false pos."
            for language in (example.language, "all"):
                tally[(label, language, level.value)][0] += verdict.blocked
                tally[(label, language, level.value)][1] += 1
                if example.violating and verdict.blocked:
                    tally[("category", language, level.value)][0] += verdict.category == example.category
                    tally[("category", language, level.value)][1] += 1
    return tally


def print_evasions(before: Tally, after: Tally) -> None:
    print(f"{'evasion set':19s} {'lang':4s} {'level':5s} {_BEFORE:>20s} {_AFTER:>20s}")
    for label, name in (
        ("recall", "evasion recall"),
        ("category", "right category"),
        ("false pos.", "look-alike FP"),
    ):
        for language in ("en", "ja", "all"):
            for level in ("auto", "low"):
                key = (label, language, level)
                print(
                    f"{name:19s} {language:4s} {level:5s} {_rate(before, key):>20s} {_rate(after, key):>20s}"
                )


def photo_like(size: int = 1024, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.stack([x / size * 255, y / size * 255, (x + y) / (2 * size) * 255], axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def before_moderation(settings: ModerationSettings, head: Path) -> Moderation:
    """Today's rules, word lists and normalisation around an older fast head, never escalating."""
    thresholds = Thresholds(settings.prompt_auto_threshold, settings.prompt_low_threshold)
    return Moderation(
        enabled=True,
        prompts=PromptModerator(thresholds, escalation=None, head=head),
        images=ImageModerator(ImageThresholds(settings.image_auto_threshold, settings.image_low_threshold)),
        rules=OrganizationRules.from_settings(settings.rules, settings.allow),
    )


def head_from_git(rev: str, folder: Path) -> Path | None:
    """``head.npz`` as of `rev`, written into `folder`; None outside a git checkout."""
    try:
        blob = subprocess.run(
            ["git", "show", f"{rev}:{_HEAD_PATH}"], capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path = folder / "head-before.npz"
    path.write_bytes(blob)
    return path


def escalations(moderation: Moderation, examples: list[Example]) -> Tally:
    """How often the multilingual head was consulted (any reading of the prompt), per kind of prompt."""
    tally: Tally = defaultdict(lambda: [0, 0])
    for example in examples:
        escalated = any(a.escalated for a in moderation._prompts.readings(example.text))
        for kind in ("violations" if example.violating else example.label, "all"):
            tally[(kind,)][0] += escalated
            tally[(kind,)][1] += 1
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="heldout", choices=("heldout", "test", "train"))
    parser.add_argument("--images", type=int, default=20, help="image checks to time")
    parser.add_argument("--before-rev", default=BEFORE_REV, help="git revision of the 'before' head")
    parser.add_argument("--before-head", type=Path, help="a head.npz file for 'before' (overrides git)")
    args = parser.parse_args()

    settings = ModerationSettings()
    start = time.perf_counter()
    moderation = Moderation.from_settings(settings)
    moderation.load()
    load_s = time.perf_counter() - start
    examples = load_heldout() if args.split == "heldout" else load_examples(split=args.split)
    print(f"gazo moderation bench: split={args.split}, {len(examples)} prompts, {platform.processor() or ''}")
    print(f"cpus={os.cpu_count()}, load average before={os.getloadavg()[0]:.2f}, model load {load_s:.2f} s\n")

    with tempfile.TemporaryDirectory() as folder:
        head = args.before_head or head_from_git(args.before_rev, Path(folder))
        before_model = before_moderation(settings, head) if head else None
        if before_model:
            before_model.load()
    evasions = load_evasions()
    if before_model:
        before, _ = evaluate(before_model, examples)
        print(f"BEFORE: the fast head of {args.before_head or args.before_rev}, alone\n")
        print_report(before)
        print()
    tally, latencies = evaluate(moderation, examples)
    print("AFTER: fast head, multilingual head when unsure\n")
    print_report(tally)
    print()
    print_before_after(before if before_model else {}, tally)
    print(f"\nevasion set: {len(evasions)} prompts (data/evasion/, never trained on)")
    no_model: Tally = {}
    print_evasions(
        evaluate_evasions(before_model, evasions) if before_model else no_model,
        evaluate_evasions(moderation, evasions),
    )

    image = photo_like()
    moderation.check_image(image)
    image_s = []
    for _ in range(args.images):
        begin = time.perf_counter()
        moderation.check_image(image)
        image_s.append(time.perf_counter() - begin)
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"\nlatency per prompt (check_prompt, auto, one thread): mean {statistics.fmean(ms):.2f} ms, "
        f"median {statistics.median(ms):.2f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.2f} ms, "
        f"max {ms[-1]:.2f} ms over {len(ms)} prompts"
    )
    escalated = escalations(moderation, examples)
    print(
        "multilingual head consulted: "
        + ", ".join(f"{kind[0]} {_rate(escalated, kind)}" for kind in sorted(escalated, key=str))
    )
    image_ms = statistics.median(image_s) * 1000
    print(f"latency per image (check_image, 1024x1024 RGB): median {image_ms:.1f} ms")
    print(f"load average after={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
