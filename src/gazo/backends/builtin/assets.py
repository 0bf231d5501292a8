"""The illustration set: Microsoft's Fluent Emoji (flat, MIT), found by meaning, rendered crisp at any size.

Each icon is SVG on a 32x32 view box, so resvg renders it at exactly the pixel size a layout asks
for: nothing is upscaled. Subjects are matched to icons by meaning with sentence embeddings of the
icons' English names and CLDR keywords (precomputed in `data/asset-embeddings.npz`), plus exact
keyword hits; Japanese words are matched against CLDR's Japanese annotations.
"""

from __future__ import annotations

import io
import json
import logging
import lzma
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import resvg
from PIL import Image

from gazo.backends.builtin.semantic import Embedder, dequantise, fingerprint, quantise

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).with_name("data")
ICONS_FILE = "fluent-emoji-flat.json.xz"
INDEX_FILE = "assets.json.xz"
EMBEDDINGS_FILE = "asset-embeddings.npz"
#: Below this similarity a phrase is not a drawable subject ("beautiful image", "style").
MIN_SIMILARITY = 0.56
#: Candidates this close to the best are interchangeable: variations pick among them.
NEAR_BEST = 0.06


@dataclass(frozen=True)
class Asset:
    """One icon with the words people use for it (English and Japanese)."""

    name: str
    label: str
    category: str
    keywords: tuple[str, ...]
    ja: tuple[str, ...]

    def texts(self) -> tuple[str, str]:
        """What is embedded: the name alone, and the name with its keywords."""
        return self.label, f"{self.label}: {', '.join(self.keywords)}"


@dataclass(frozen=True)
class Match:
    asset: Asset
    score: float


def read_index(data_dir: Path = DATA_DIR) -> list[Asset]:
    raw = json.loads(lzma.decompress((data_dir / INDEX_FILE).read_bytes()))
    return [
        Asset(a["name"], a["label"], a["category"], tuple(a["keywords"]), tuple(a["ja"]))
        for a in raw["assets"]
    ]


def embed_assets(assets: list[Asset], embedder: Embedder) -> dict[str, np.ndarray]:
    """The vector table of `assets` as stored in `asset-embeddings.npz` (int8 rows and scales)."""
    labels, full = zip(*(asset.texts() for asset in assets), strict=True)
    label_rows, label_scale = quantise(embedder.encode(labels))
    full_rows, full_scale = quantise(embedder.encode(full))
    return {
        "fingerprint": np.array(_fingerprint(assets)),
        "label_rows": label_rows,
        "label_scale": label_scale,
        "full_rows": full_rows,
        "full_scale": full_scale,
    }


class AssetLibrary:
    """Icons, their words and vectors; thread-safe rendering with a small cache of rendered sizes."""

    def __init__(self, embedder: Embedder, data_dir: Path = DATA_DIR, cache_dir: Path | None = None) -> None:
        self.embedder = embedder
        self.assets = read_index(data_dir)
        self.by_name = {asset.name: asset for asset in self.assets}
        icons = json.loads(lzma.decompress((data_dir / ICONS_FILE).read_bytes()))
        self._bodies: dict[str, str] = icons["icons"]
        self._view = (icons["width"], icons["height"])
        self._label_vectors, self._full_vectors = self._vectors(data_dir, cache_dir)
        self._labels = {asset.label: index for index, asset in enumerate(self.assets)}
        self._ja = _japanese_words(self.assets)
        self._keyword_hits: dict[str, list[int]] = {}
        for index, asset in enumerate(self.assets):
            for word in asset.keywords:
                self._keyword_hits.setdefault(word, []).append(index)
        self._cache: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def _vectors(self, data_dir: Path, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
        """The shipped table when it matches the index, else one computed once and cached."""
        wanted = _fingerprint(self.assets)
        for folder in (data_dir, cache_dir):
            path = folder / EMBEDDINGS_FILE if folder else None
            if path and path.is_file():
                table = np.load(path)
                if str(table["fingerprint"]) == wanted:
                    return (
                        dequantise(table["label_rows"], table["label_scale"]),
                        dequantise(table["full_rows"], table["full_scale"]),
                    )
        logger.info("asset embeddings are stale; computing them (once) for %d assets", len(self.assets))
        table = embed_assets(self.assets, self.embedder)
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.savez(cache_dir / EMBEDDINGS_FILE, allow_pickle=False, **table)  # numeric arrays only
        return (
            dequantise(table["label_rows"], table["label_scale"]),
            dequantise(table["full_rows"], table["full_scale"]),
        )

    def candidates(
        self, phrase: str, *, japanese: bool = False, limit: int = 6, min_score: float = MIN_SIMILARITY
    ) -> list[Match]:
        """Icons for `phrase`, best first; empty when nothing is close enough to draw."""
        if japanese:
            return self._japanese(phrase)
        singular = _singular(phrase)
        exact = self._labels.get(phrase, self._labels.get(singular))
        if exact is not None:  # an icon's own name: nothing else comes close, no need to embed
            return [Match(self.assets[exact], 1.5)]
        query = self.embedder.query(phrase)
        scores = np.maximum(self._label_vectors @ query, self._full_vectors @ query * 0.95)
        for index in self._keyword_hits.get(singular, ()):
            scores[index] += 0.1
        order = np.argsort(-scores, kind="stable")[:limit]
        return [Match(self.assets[i], float(scores[i])) for i in order if scores[i] >= min_score]

    def _japanese(self, phrase: str) -> list[Match]:
        """The longest CLDR Japanese word found in `phrase` names the icon(s)."""
        found = [word for word in self._ja if word in phrase]
        if not found:
            return []
        word = max(found, key=lambda w: (phrase.endswith(w), len(w)))  # the head noun ends the phrase
        return [Match(self.assets[i], 1.0 - 0.01 * rank) for rank, i in enumerate(self._ja[word][:4])]

    def japanese_words(self) -> list[str]:
        """Every Japanese word that names an icon, longest first (for prompt parsing)."""
        return sorted(self._ja, key=len, reverse=True)

    def render(self, asset: Asset, size: int) -> Image.Image:
        """The icon as an RGBA square of `size` pixels (cached; callers must not modify it)."""
        size = max(4, int(size))  # resvg refuses empty canvases
        key = (asset.name, size)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        width, height = self._view
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {width} {height}">{self._bodies[asset.name]}</svg>'
        )
        identity = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # row-major affine (a, b, c, d, e, f)
        # Options are made per call (under a microsecond): resvg's objects are bound to the thread
        # that made them and complain when garbage-collected on another one.
        png = resvg.render(resvg.usvg.Tree.from_str(svg, resvg.usvg.Options.default()), identity)
        image = Image.open(io.BytesIO(png)).convert("RGBA")
        with self._lock:
            self._cache[key] = image
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return image


def _fingerprint(assets: list[Asset]) -> str:
    labels, full = zip(*(asset.texts() for asset in assets), strict=True)
    return fingerprint([*labels, *full])


def _japanese_words(assets: list[Asset]) -> dict[str, list[int]]:
    """Japanese word → icons, those where the word comes earliest among their words first."""
    words: dict[str, list[int]] = {}
    for index, asset in enumerate(assets):
        for word in asset.ja:
            if len(word) >= 1 and not word.isascii():
                words.setdefault(word, []).append(index)
    for word, indices in words.items():
        indices.sort(key=lambda i: (assets[i].ja.index(word), len(assets[i].ja)))
    return words


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word
