"""Colour arithmetic for legible text: WCAG luminance and contrast, and a fill that stands out."""

from __future__ import annotations

RGB = tuple[int, int, int]
LIGHT: RGB = (255, 255, 255)
DARK: RGB = (20, 20, 28)


def luminance(rgb: RGB) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""
    channels = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(background: RGB, preferred: RGB) -> RGB:
    """`preferred` when it stands out on `background` (ratio 4.5), else near-white or near-black."""
    if contrast(preferred, background) >= 4.5:
        return preferred
    return LIGHT if contrast(LIGHT, background) >= contrast(DARK, background) else DARK


def edge_for(fill: RGB) -> RGB:
    """The outline or plate colour that sets `fill` off: dark behind light letters, white behind dark."""
    return DARK if luminance(fill) > 0.5 else LIGHT
