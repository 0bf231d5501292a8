"""Icons are found by meaning (not only by exact words), in Japanese too, and render crisp at any size."""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import numpy as np
import pytest

from gazo.backends.builtin.assets import DATA_DIR, EMBEDDINGS_FILE, ICONS_FILE, INDEX_FILE, AssetLibrary
from gazo.backends.builtin.backend import BuiltinBackend


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("kitty", {"cat", "cat-face"}),
        ("feline", {"cat", "cat-face", "black-cat"}),
        ("puppy", {"dog", "dog-face"}),
        ("car", {"automobile"}),
        ("birthday cake", {"birthday-cake"}),
        ("bunny", {"rabbit", "rabbit-face"}),
        ("sneakers", {"running-shoe"}),
        ("smartphone", {"mobile-phone"}),
    ],
)
def test_subjects_are_matched_by_meaning(backend: BuiltinBackend, phrase: str, expected: set[str]) -> None:
    assert backend.library is not None
    assert backend.library.candidates(phrase)[0].asset.name in expected


def test_japanese_words_are_matched_through_the_icon_annotations(backend: BuiltinBackend) -> None:
    assert backend.library is not None
    assert backend.library.candidates("富士山", japanese=True)[0].asset.name == "mount-fuji"
    assert backend.library.candidates("かわいい猫", japanese=True)[0].asset.name == "cat"
    assert backend.library.candidates("大きな観覧車", japanese=True)[0].asset.name == "ferris-wheel"


def test_words_that_name_nothing_drawable_match_nothing(backend: BuiltinBackend) -> None:
    assert backend.library is not None
    assert backend.library.candidates("beautiful image") == []


def test_icons_render_crisp_at_the_requested_size(backend: BuiltinBackend) -> None:
    assert backend.library is not None
    icon = backend.library.render(backend.library.by_name["red-apple"], 1024)
    alpha = np.asarray(icon.getchannel("A"))
    assert icon.size == (1024, 1024)
    assert (alpha == 255).mean() > 0.3
    assert ((alpha > 10) & (alpha < 245)).mean() < 0.01  # anti-aliased edge only: vector, not upscaled


def test_stale_vectors_are_recomputed_once_into_the_cache(backend: BuiltinBackend, tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    index = json.loads(lzma.decompress((DATA_DIR / INDEX_FILE).read_bytes()))
    index["assets"] = [a for a in index["assets"] if a["name"] in ("cat", "dog", "rocket")]
    (data / INDEX_FILE).write_bytes(lzma.compress(json.dumps(index).encode()))
    shutil.copy(DATA_DIR / ICONS_FILE, data / ICONS_FILE)
    shutil.copy(DATA_DIR / EMBEDDINGS_FILE, data / EMBEDDINGS_FILE)  # fingerprint of the full index
    assert backend.library is not None
    library = AssetLibrary(backend.library.embedder, data_dir=data, cache_dir=cache)
    assert (cache / EMBEDDINGS_FILE).is_file()
    assert library.candidates("kitten")[0].asset.name == "cat"
    again = AssetLibrary(backend.library.embedder, data_dir=data, cache_dir=cache)
    assert np.allclose(again._label_vectors, library._label_vectors)
