"""Per-layer looks: recolouring an icon to a named colour, sticker outlines, shadows, neon glow, pixels.

Each takes and returns an RGBA image; outlines and shadows are computed at reduced size where the
result is blurry anyway, which keeps a 1024-pixel sticker under ~10 ms.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

from gazo.backends.builtin.lexicon import RGB


def tint(image: Image.Image, colour: RGB) -> Image.Image:
    """Recolour the coloured parts of an icon to `colour`, keeping its shading, outlines and whites.

    An icon already close to the colour ("red apple") is left alone.
    """
    pixels = np.asarray(image, dtype=np.float32)
    rgb, alpha = pixels[..., :3] / 255.0, pixels[..., 3]
    high, low = rgb.max(-1), rgb.min(-1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0)
    coloured = (saturation > 0.2) & (alpha > 128)
    if not coloured.any():
        return image
    mean = rgb[coloured].mean(0)
    target = np.asarray(colour, np.float32) / 255.0
    if _hue_distance(tuple(mean), tuple(target)) < 0.06 and abs(mean.mean() - target.mean()) < 0.25:
        return image
    light = rgb.mean(-1)
    relative = light / max(1e-6, float(light[coloured].mean()))
    recoloured = np.clip(target[None, None, :] * (0.45 + 0.55 * relative[..., None]), 0, 1)
    if target.max() - target.min() < 0.1:  # black, white, grey: keep some of the shading
        recoloured = np.clip(target + (relative[..., None] - 1) * 0.35, 0, 1)
    weight = np.clip((saturation - 0.12) / 0.2, 0, 1)[..., None]
    out = rgb * (1 - weight) + recoloured * weight
    return Image.fromarray(np.dstack([out * 255, alpha]).round().astype(np.uint8), "RGBA")


def _hue_distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    first, second = colorsys.rgb_to_hsv(*a)[0], colorsys.rgb_to_hsv(*b)[0]
    return min(abs(first - second), 1 - abs(first - second))


def outline(image: Image.Image, width: int, colour: RGB = (255, 255, 255)) -> Image.Image:
    """A die-cut sticker border: the alpha grown by `width` pixels, filled with `colour`, under the icon."""
    pad = width + 2
    padded = Image.new("RGBA", (image.width + 2 * pad, image.height + 2 * pad), (0, 0, 0, 0))
    padded.paste(image, (pad, pad))
    alpha = np.asarray(padded.getchannel("A"))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    grown = cv2.dilate(alpha, kernel)
    grown = cv2.GaussianBlur(grown, (0, 0), max(0.6, width / 12))
    border = Image.new("RGBA", padded.size, (*colour, 0))
    border.putalpha(Image.fromarray(grown))
    return Image.alpha_composite(border, padded)


def drop_shadow(
    image: Image.Image, offset: tuple[int, int], blur: float, opacity: float, colour: RGB = (20, 20, 35)
) -> tuple[Image.Image, tuple[int, int]]:
    """The image over its soft shadow; returns the new image and where its old origin moved to."""
    pad = int(blur * 2.5) + max(abs(offset[0]), abs(offset[1]))
    size = (image.width + 2 * pad, image.height + 2 * pad)
    scale = 4 if blur > 8 else 1
    alpha = Image.new("L", size, 0)
    alpha.paste(image.getchannel("A"), (pad + offset[0], pad + offset[1]))
    small = alpha.resize((max(1, size[0] // scale), max(1, size[1] // scale)), Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.GaussianBlur(blur / scale))
    shadow_alpha = small.resize(size, Image.Resampling.BILINEAR).point(lambda v: int(v * opacity))
    result = Image.new("RGBA", size, (*colour, 0))
    result.putalpha(shadow_alpha)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste(image, (pad, pad))
    return Image.alpha_composite(result, layer), (pad, pad)


def glow(image: Image.Image, colour: RGB, radius: float) -> tuple[Image.Image, tuple[int, int]]:
    """Neon: the icon over a bright blurred halo of `colour`."""
    lit, origin = drop_shadow(image, (0, 0), radius, 1.0, colour)
    halo = lit.getchannel("A")
    boosted = ImageChops.add(halo, halo)
    lit.putalpha(ImageChops.lighter(boosted, lit.getchannel("A")))
    return lit, origin


def pixelate(image: Image.Image, cells: int = 28) -> Image.Image:
    """Pixel-art look: the icon on a coarse grid with hard alpha."""
    small = image.resize((cells, cells), Image.Resampling.BOX)
    alpha = small.getchannel("A").point(lambda v: 255 if v > 110 else 0)
    small.putalpha(alpha)
    return small.resize(image.size, Image.Resampling.NEAREST)


def soften(image: Image.Image, saturation: float, blur: float) -> Image.Image:
    """Watercolour and retro: fewer saturated colours and slightly bled edges."""
    alpha = image.getchannel("A")
    rgb = ImageEnhance.Color(image.convert("RGB")).enhance(saturation)
    if blur:
        rgb = rgb.filter(ImageFilter.GaussianBlur(blur))
        alpha = alpha.filter(ImageFilter.GaussianBlur(blur))
    rgb.putalpha(alpha)
    return rgb
