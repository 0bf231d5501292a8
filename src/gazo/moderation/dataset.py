"""The labelled prompt set: built from hand-written seeds, split by seed, loaded by training, tests and bench.

Seeds live in ``data/seeds/{en,ja}.txt``. A seed is one line under a ``[category label]`` header;
``{a|b}`` expands to each choice and ``{person}`` to public figures from ``data/people.txt``, and each
expansion also appears once with a style framing ("..., 8k, highly detailed"), because real prompts
carry such tags. The split is decided per seed by a hash of its text, never by hand, so no form of a
held-out seed is ever trained on. That split still shares the seeds' authors and habits, so the bench
scores a second held-out set by default, ``data/heldout/{en,ja}.txt`` (issue 21): prompts written
apart, one a line, never expanded or trained on; a test keeps them from copying any seed's prompt.
Rebuild ``data/prompts.jsonl`` after editing seeds::

    python -m gazo.moderation.dataset
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from gazo.moderation.base import CATEGORIES, DATA_DIR
from gazo.moderation.lexicon import load_people

PROMPTS_FILE = DATA_DIR / "prompts.jsonl"
EVASION_DIR = DATA_DIR / "evasion"
HELDOUT_DIR = DATA_DIR / "heldout"
LABELS = ("clear", "borderline", "safe", "tricky")
TEST_SHARE = 4  # one seed in four is held out

_MAX_EXPANSIONS = 4
_HEADER = re.compile(r"^\[(?P<category>[a-z/-]+) (?P<label>clear|borderline)\]$|^\[(?P<plain>safe|tricky)\]$")
_ALTERNATION = re.compile(r"\{([^{}]*\|[^{}]*)\}")
_FRAMES = {
    "en": (
        ("a photo of ", ""),
        ("", ", 8k, highly detailed"),
        ("digital art of ", ", trending on artstation"),
        ("", ", photorealistic, cinematic lighting"),
        ("an oil painting of ", ""),
        ("anime style, ", ""),
        ("", ", 35mm film, high quality"),
        ("illustration: ", ", vibrant colors"),
    ),
    "ja": (
        ("", "、高画質"),
        ("", "、アニメ風"),
        ("", "、油絵"),
        ("", "、写真、リアル"),
        ("", "、4K、細密"),
        ("", "、イラスト"),
        ("", "、映画のワンシーン"),
        ("", "、masterpiece, best quality"),
    ),
}


@dataclass(frozen=True)
class Example:
    """One labelled prompt. `category` is None for safe and tricky (hard negative) prompts."""

    text: str
    category: str | None
    label: str
    split: str
    language: str
    group: str

    @property
    def violating(self) -> bool:
        return self.label in ("clear", "borderline")


def load_examples(path: Path = PROMPTS_FILE, split: str | None = None) -> list[Example]:
    """The data set (optionally one split: `train` or `test`)."""
    rows = [Example(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if split is None or row.split == split]


def load_evasions(evasion_dir: Path = EVASION_DIR) -> list[Example]:
    """The evasion set (``data/evasion/{en,ja}.txt``): evasive spellings of clear violations and innocent
    look-alikes, written apart from the seeds and never trained on; split ``evasion``. Lines are taken
    as written (no ``{a|b}`` expansion, no framings): each line is one deliberate spelling."""
    return _load_written(evasion_dir, "evasion")


def load_heldout(heldout_dir: Path = HELDOUT_DIR) -> list[Example]:
    """The held-out set (``data/heldout/{en,ja}.txt``): clear violations of every category, safe and
    tricky-safe prompts, written apart from the seeds (not a split of them, so no seed's wording leaks
    into it) and never read by training; split ``heldout``. What ``bench/moderation.py`` scores by
    default. Lines are taken as written, like the evasion set."""
    return _load_written(heldout_dir, "heldout")


def _load_written(directory: Path, split: str) -> list[Example]:
    """One example per line of ``directory/{language}.txt`` under ``[category label]`` headers."""
    examples: list[Example] = []
    for path in sorted(directory.glob("*.txt")):
        category: str | None = None
        label = ""
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            header = _HEADER.match(line)
            if header:
                category, label = header["category"], header["label"] or header["plain"]
                if category is not None and category not in CATEGORIES:
                    raise ValueError(f"{path.name}: unknown category {category!r}")
                continue
            if not label:
                raise ValueError(f"{path.name}: {line!r} comes before any [category label] header")
            examples.append(Example(line, category, label, split, path.stem, f"{_seed_hash(line):016x}"))
    return examples


def _seed_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _expand(seed: str, language: str, people: list[list[str]], rng: random.Random) -> list[str]:
    parts = _ALTERNATION.split(seed)
    choices = [part.split("|") if i % 2 else [part] for i, part in enumerate(parts)]
    combos = ["".join(combo) for combo in itertools.product(*choices)]
    if len(combos) > _MAX_EXPANSIONS:
        combos = rng.sample(combos, _MAX_EXPANSIONS)
    if "{person}" not in seed:
        return combos
    expanded = []
    for combo in combos:
        for person in rng.sample(people, 3):
            native = [form for form in person if not form.isascii()]
            name = rng.choice(native) if language == "ja" and native else person[0]
            expanded.append(combo.replace("{person}", name))
    return expanded


def build_examples(seeds_dir: Path = DATA_DIR / "seeds") -> list[Example]:
    """Expand every seed file into labelled, split examples (deterministic)."""
    people = load_people()
    examples: list[Example] = []
    for seeds_file in sorted(seeds_dir.glob("*.txt")):
        language = seeds_file.stem
        category: str | None = None
        label = ""
        for raw in seeds_file.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            header = _HEADER.match(line)
            if header:
                category = header["category"]
                label = header["label"] or header["plain"]
                if category is not None and category not in CATEGORIES:
                    raise ValueError(f"{seeds_file.name}: unknown category {category!r}")
                continue
            group = f"{language}:{category or label}:{line}"
            digest = _seed_hash(group)
            split = "test" if digest % TEST_SHARE == 0 else "train"
            rng = random.Random(digest)
            group_id = f"{digest:016x}"
            seen = set()
            for text in _expand(line, language, people, rng):
                prefix, suffix = rng.choice(_FRAMES[language])
                for variant in (text, f"{prefix}{text}{suffix}"):
                    if variant not in seen:
                        seen.add(variant)
                        examples.append(Example(variant, category, label, split, language, group_id))
    return examples


def main() -> None:
    examples = build_examples()
    with PROMPTS_FILE.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
    counts = Counter((e.language, e.category or e.label, e.label, e.split) for e in examples)
    for key in sorted(counts, key=str):
        print(*key, counts[key])
    print(f"{len(examples)} examples written to {PROMPTS_FILE}")


if __name__ == "__main__":
    main()
