"""Pixel and text helpers for the built-in engine's tests."""

from __future__ import annotations

import colorsys

from PIL import Image

from tests.support.ocr import squash

__all__ = ["dominant_colour", "hue", "hue_distance", "squash"]


def dominant_colour(image: Image.Image) -> tuple[int, int, int]:
    """The most common of six median-cut colours."""
    small = image.convert("RGB").resize((96, 96))
    quantised = small.quantize(6, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    _, index = max(quantised.getcolors() or [])
    return tuple(palette[3 * index : 3 * index + 3])  # type: ignore[return-value]


def hue(rgb: tuple[int, int, int]) -> float:
    """Hue in degrees (0 red, 120 green, 240 blue)."""
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] * 360


def hue_distance(a: float, b: float) -> float:
    return min(abs(a - b), 360 - abs(a - b))
