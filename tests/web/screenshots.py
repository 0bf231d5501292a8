"""The README's screenshot: made by the playground test, shrunk to a small palette PNG."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "playground.png"
MAX_BYTES = 190_000


def save_docs_screenshot(source: Path, target: Path = DOCS_SCREENSHOT) -> int | None:
    """Write `source` to `target` as a palette PNG under MAX_BYTES: fewer colours, then smaller, as needed.

    Only when `target` is missing or `UPDATE_DOCS_SCREENSHOT=1`, so a test run leaves the tree clean.
    """
    if target.exists() and os.environ.get("UPDATE_DOCS_SCREENSHOT") != "1":
        return None
    image = Image.open(source).convert("RGB")
    for scale in (1.0, 0.85, 0.7):
        width, height = round(image.width * scale), round(image.height * scale)
        sized = image.resize((width, height), Image.Resampling.LANCZOS) if scale < 1 else image
        for colors in (256, 128, 64):
            palette = sized.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            palette.save(target, optimize=True)
            if (written := target.stat().st_size) < MAX_BYTES:
                return written
    raise AssertionError(f"{target} is {written} bytes even at 64 colours and 70 % size")
