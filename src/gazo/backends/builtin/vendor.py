"""Rebuild the vendored asset data from npm tarballs (a maintainer's tool; gazo never runs it at serve time).

    cd /tmp && npm pack @iconify-json/fluent-emoji-flat@1.2.6 cldr-annotations-full@48.2.0 \\
        cldr-annotations-derived-full@48.2.0 emojilib@4.0.3
    python -m gazo.backends.builtin.vendor /tmp

Writes into `data/`: the icons' SVG bodies (skin-tone variants dropped: the default tone of each
remains), the index of English and Japanese words per icon, and the precomputed embeddings.
``python -m gazo.backends.builtin.vendor --embeddings`` recomputes only the embeddings from the index
already in `data/` (after the encoder in `gazo.embedding` changes; no tarballs needed).
"""

from __future__ import annotations

import functools
import json
import lzma
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from gazo.backends.builtin.assets import (
    DATA_DIR,
    EMBEDDINGS_FILE,
    ICONS_FILE,
    INDEX_FILE,
    Asset,
    embed_assets,
    read_index,
)
from gazo.backends.builtin.semantic import Embedder

PACKAGES = {
    "icons": "iconify-json-fluent-emoji-flat-1.2.6.tgz",
    "cldr": "cldr-annotations-full-48.2.0.tgz",
    "derived": "cldr-annotations-derived-full-48.2.0.tgz",
    "emojilib": "emojilib-4.0.3.tgz",
}
_TONES = ("-light", "-medium-light", "-medium", "-medium-dark", "-dark")
_MAX_KEYWORDS = 14


def _member(tarball: Path, name: str) -> Any:
    with tarfile.open(tarball) as archive:
        handle = archive.extractfile(f"package/{name}")
        assert handle is not None, f"{name} missing from {tarball}"
        return json.load(handle)


def _annotations(folder: Path, language: str) -> dict[str, dict[str, list[str]]]:
    plain = _member(folder / PACKAGES["cldr"], f"annotations/{language}/annotations.json")
    derived = _member(folder / PACKAGES["derived"], f"annotationsDerived/{language}/annotations.json")
    return {**derived["annotationsDerived"]["annotations"], **plain["annotations"]["annotations"]}


def build_assets(folder: Path) -> tuple[list[Asset], dict[str, Any]]:
    """Icons without skin-tone variants, each with its CLDR/emojilib words."""
    icons = _member(folder / PACKAGES["icons"], "icons.json")
    chars = _member(folder / PACKAGES["icons"], "chars.json")
    categories = _member(folder / PACKAGES["icons"], "metadata.json")["categories"]
    english, japanese = _annotations(folder, "en"), _annotations(folder, "ja")
    emojilib = _member(folder / PACKAGES["emojilib"], "dist/emoji-en-US.json")
    char_of = {
        name: "".join(chr(int(code, 16)) for code in codes.split("-")) for codes, name in chars.items()
    }
    category_of = {name: category for category, names in categories.items() for name in names}
    names = set(icons["icons"])
    kept = sorted(n for n in names if not any(n.endswith(t) and n[: -len(t)] in names for t in _TONES))
    assets = []
    for name in kept:
        char = char_of.get(name, "")
        plain = char.replace("\ufe0f", "")
        en = english.get(char) or english.get(plain) or {}
        ja = japanese.get(char) or japanese.get(plain) or {}
        label = (en.get("tts") or [name.replace("-", " ")])[0].lower()
        extra = [w.replace("_", " ") for w in emojilib.get(char, emojilib.get(plain, []))[1:]]
        words = [w.lower() for w in [*en.get("default", []), *extra] if w.replace(" ", "").isalpha()]
        keywords = tuple(dict.fromkeys(w for w in words if w != label))[:_MAX_KEYWORDS]
        ja_words = tuple(dict.fromkeys([*ja.get("tts", []), *ja.get("default", [])]))
        assets.append(Asset(name, label, category_of.get(name, "Symbols"), keywords, ja_words))
    bodies = {"width": icons["width"], "height": icons["height"]}
    bodies["icons"] = {name: icons["icons"][name]["body"] for name in kept}
    return assets, bodies


def main(folder: Path, data_dir: Path = DATA_DIR) -> None:
    assets, bodies = build_assets(folder)
    index = {
        "source": "Fluent Emoji Flat 1.2.6 (MIT); words: CLDR 48.2 annotations (Unicode-3.0), "
        "emojilib 4.0.3 (MIT)",
        "assets": [
            {"name": a.name, "label": a.label, "category": a.category, "keywords": a.keywords, "ja": a.ja}
            for a in assets
        ],
    }
    compact = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)
    (data_dir / INDEX_FILE).write_bytes(lzma.compress(compact(index).encode(), preset=9))
    (data_dir / ICONS_FILE).write_bytes(lzma.compress(compact(bodies).encode(), preset=9))
    write_embeddings(assets, data_dir)
    print(f"{len(assets)} assets written to {data_dir}")


def write_embeddings(assets: list[Asset], data_dir: Path = DATA_DIR) -> None:
    np.savez(data_dir / EMBEDDINGS_FILE, allow_pickle=False, **embed_assets(assets, Embedder()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--embeddings"]:
        write_embeddings(read_index(DATA_DIR))
    else:
        main(Path(sys.argv[1]))
