"""Decoding returned images and counting changed pixels."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def decode_b64(b64: str) -> tuple[Image.Image, bytes]:
    data = base64.b64decode(b64)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, data


def changed_pixels(a: Image.Image, b: Image.Image, where: np.ndarray | None = None) -> int:
    """Pixels whose RGB(A) values differ, optionally only where `where` is True."""
    first = np.asarray(a.convert("RGBA"), dtype=np.int16)
    second = np.asarray(b.convert("RGBA"), dtype=np.int16)
    differs = np.any(first != second, axis=-1)
    if where is not None:
        differs &= where
    return int(differs.sum())


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()
