"""Content-aware fill: removing what a mask covers, and extending an image past its borders.

Removal uses OpenCV's Telea inpainting: at full size for small holes, and for large ones at a
reduced size (inpainting cost grows with the hole's area) followed by grain matched to the
surrounding texture, so the fill is neither slow nor plastic-smooth. Extension stretches the image's
edge outward and lets it dissolve into a blur with distance from the original edge.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

#: Holes larger than this share of the image are inpainted at reduced size.
_SMALL_HOLE = 0.04
_WORK_SIDE = 320


def content_fill(image: Image.Image, mask: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """`image` with the pixels where `mask` is True replaced by a plausible continuation of the rest."""
    if not mask.any():
        return image
    rectangle = _kept_rectangle(mask)
    if rectangle is not None:
        return extend(image, rectangle, rng)
    rgb = np.asarray(image.convert("RGB"))
    hole = mask.astype(np.uint8) * 255
    if mask.mean() <= _SMALL_HOLE:
        radius = max(3, round(min(rgb.shape[:2]) / 200))
        filled = cv2.inpaint(rgb, cv2.dilate(hole, np.ones((3, 3), np.uint8)), radius, cv2.INPAINT_TELEA)
    else:
        filled = _coarse_fill(rgb, hole)
        filled = _add_texture(filled, rgb, mask, rng)
    out = np.where(mask[..., None], filled, rgb)
    result = Image.fromarray(out.astype(np.uint8), "RGB")
    if image.mode == "RGBA":
        alpha = np.asarray(image.getchannel("A")).copy()
        alpha[mask] = 255
        result.putalpha(Image.fromarray(alpha))
    return result


def _coarse_fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    height, width = hole.shape
    scale = _WORK_SIDE / max(height, width)
    small = (max(8, round(width * scale)), max(8, round(height * scale)))
    small_rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    shrunk_hole = (cv2.resize(hole, small, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    small_hole = cv2.dilate(shrunk_hole, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small_rgb, small_hole, 5, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_CUBIC)


def _add_texture(
    filled: np.ndarray, rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Grain as strong as the fine detail around the hole, so the patch does not look smeared."""
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool) & ~mask
    detail = rgb.astype(np.float32) - cv2.GaussianBlur(rgb, (0, 0), 2).astype(np.float32)
    strength = float(detail[ring].std()) if ring.any() else 0.0
    noise = rng.normal(0, min(strength, 12.0), mask.shape).astype(np.float32)
    grain = cv2.GaussianBlur(noise, (0, 0), 0.7)[..., None]
    return np.clip(filled.astype(np.float32) + grain, 0, 255)


def _kept_rectangle(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The kept area when it is one axis-aligned rectangle and everything else is masked (an extension)."""
    kept = ~mask
    rows, columns = np.flatnonzero(kept.any(1)), np.flatnonzero(kept.any(0))
    if rows.size == 0 or columns.size == 0:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    if not kept[top:bottom, left:right].all() or kept.sum() != (bottom - top) * (right - left):
        return None
    if (top, left, bottom, right) == (0, 0, *mask.shape):
        return None
    return int(left), int(top), int(right), int(bottom)


def extend(image: Image.Image, kept: tuple[int, int, int, int], rng: np.random.Generator) -> Image.Image:
    """Fill around the `kept` rectangle (left, top, right, bottom): its edge pixels stretched outward and
    blurred more with distance from the edge, with grain like the edge's own texture.

    Only the edge continues (no mirrored copies of what sits in the middle of the picture)."""
    left, top, right, bottom = kept
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    inner = np.ascontiguousarray(rgb[top:bottom, left:right])
    stretched = cv2.copyMakeBorder(inner, top, height - bottom, left, width - right, cv2.BORDER_REPLICATE)
    small = cv2.resize(stretched, (max(1, width // 8), max(1, height // 8)), interpolation=cv2.INTER_AREA)
    blurred = cv2.resize(cv2.GaussianBlur(small, (0, 0), max(1.0, min(width, height) / 160)), (width, height))
    outside = np.ones((height, width), np.uint8)
    outside[top:bottom, left:right] = 0
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    weight = np.clip(distance / (min(width, height) * 0.12), 0, 1)[..., None]
    filled = stretched * (1 - weight) + blurred * weight
    filled = _add_texture(filled, rgb, outside.astype(bool), rng)
    filled[top:bottom, left:right] = inner
    result = Image.fromarray(filled.astype(np.uint8), "RGB")
    if image.mode == "RGBA":
        result.putalpha(255)
    return result
