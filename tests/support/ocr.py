"""Reading text back out of images (RapidOCR's PP-OCR models, Latin and Japanese) and scoring it.

RapidOCR rather than tesseract: on this project's machines tesseract `jpn+eng` was unstable across
text sizes and misread `%` and `¥` (shared notes, offline components); PP-OCR read the same banners
exactly, offline, from the models inside its wheel.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np
from PIL import Image


def squash(text: str) -> str:
    """Text without spaces or underscores: OCR often drops or invents word gaps."""
    return re.sub(r"[\s_]+", "", text)


@functools.cache
def ocr_reader() -> Callable[[Image.Image], str]:
    """One OCR engine per test session, with the settings that read banners well (not its defaults)."""
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Det.limit_type": "max", "Det.limit_side_len": 960})

    def read(image: Image.Image) -> str:
        result = engine(np.asarray(image.convert("RGB")))
        return squash(" ".join(result.txts or ()))

    return read


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def character_error_rate(expected: str, read: str) -> float:
    """Edits needed to turn what was read into what was expected, per expected character (spaces ignored)."""
    expected, read = squash(expected), squash(read)
    return edit_distance(expected, read) / max(1, len(expected))
