"""Issue #6's five edit promises through `gazo generate|edit --server` in a subprocess, against a real
`gazo serve` on the tiny SD model: mask edit, exact text, background extension, references, transparency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.support.ocr import character_error_rate, ocr_reader
from tests.support.pixels import centre_mask, photo
from tests.support.server import GazoServer


def gazo(server: GazoServer, *args: str) -> dict[str, Any]:
    """Run `gazo ARGS --server URL --json` in a subprocess; the JSON summary it prints."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GAZO_")}
    completed = subprocess.run(
        [sys.executable, "-m", "gazo", *args, "--server", server.base_url, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_mask_edit_keeps_every_pixel_outside_the_mask(server: GazoServer, tmp_path: Path) -> None:
    photo(128, 128).save(source := tmp_path / "in.png")
    mask, keep = centre_mask(128, 128, (32, 32, 96, 96))
    mask.save(mask_path := tmp_path / "mask.png")
    gazo(
        server,
        "edit",
        str(source),
        "--mask",
        str(mask_path),
        "-p",
        "a window",
        "-o",
        str(out := tmp_path / "o.png"),
    )
    edited = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(edited[keep], np.asarray(photo(128, 128))[keep])
    assert not np.array_equal(edited[~keep], np.asarray(photo(128, 128))[~keep])


def test_text_is_set_exactly(server: GazoServer, tmp_path: Path) -> None:
    out = tmp_path / "poster.png"
    args = (
        "generate",
        "a poster 「春祭り」",
        "--text",
        "Grand Opening",
        "--size",
        "512x512",
        "--quality",
        "low",
    )
    summary = gazo(server, *args, "--seed", "1", "-o", str(out))
    assert summary["gazo"]["text"]["strings"] == ["春祭り", "Grand Opening"]
    assert character_error_rate("春祭りGrandOpening", ocr_reader()(Image.open(out))) == 0


def test_placement_extends_the_background_around_the_untouched_image(
    server: GazoServer, tmp_path: Path
) -> None:
    photo(128, 128).save(source := tmp_path / "in.png")
    out = tmp_path / "wide.png"
    summary = gazo(
        server,
        "edit",
        str(source),
        "-p",
        "a meadow",
        "--size",
        "256x128",
        "--placement",
        "left",
        "-o",
        str(out),
    )
    extended = np.asarray(Image.open(out).convert("RGB"))
    assert summary["size"] == "256x128" and extended.shape == (128, 256, 3)
    assert np.array_equal(extended[:, :128], np.asarray(photo(128, 128)))
    assert extended[:, 128:].std() > 5  # the new area was painted, not left blank


def test_several_images_say_how_the_references_were_used(server: GazoServer, tmp_path: Path) -> None:
    paths = []
    for seed in (1, 2):
        photo(64, 64, seed=seed).save(path := tmp_path / f"ref{seed}.png")
        paths.append(str(path))
    photo(128, 128).save(source := tmp_path / "in.png")
    summary = gazo(
        server, "edit", str(source), *paths, "-p", "in these colours", "-o", str(tmp_path / "o.png")
    )
    assert summary["gazo"]["references"] == {"mode": "init+colour", "count": 2}


def test_transparent_background_has_real_alpha(server: GazoServer, tmp_path: Path) -> None:
    out = tmp_path / "cut.png"
    summary = gazo(
        server, "generate", "a red ball", "--background", "transparent", "--size", "256x256", "-o", str(out)
    )
    alpha = np.asarray(Image.open(out))[..., 3]
    assert summary["background"] == "transparent" and Image.open(out).mode == "RGBA"
    assert alpha.min() < 128  # some of it was keyed out
