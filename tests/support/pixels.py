"""Pictures for tests: inputs with structure, OpenAI-style masks and decompression bombs to send; decoding
returned images and counting changed pixels."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
from PIL import Image


def photo(width: int = 256, height: int = 256, seed: int = 0) -> Image.Image:
    """A deterministic image with structure (gradients and noise), as a test input."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    noisy = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(noisy, "RGB")


def centre_mask(width: int, height: int, box: tuple[int, int, int, int]) -> tuple[Image.Image, np.ndarray]:
    """OpenAI-style mask: opaque everywhere, fully transparent (edit here) inside `box`; and where to keep."""
    alpha = np.full((height, width), 255, np.uint8)
    left, top, right, bottom = box
    alpha[top:bottom, left:right] = 0
    mask = Image.fromarray(np.dstack([np.zeros((height, width, 3), np.uint8), alpha]), "RGBA")
    return mask, alpha == 255


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * width * 3
    body = zlib.compress(row * 8, 9)  # far fewer rows than claimed; the header alone must be refused
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


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
