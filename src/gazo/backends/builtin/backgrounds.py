"""Procedural backgrounds from a palette: gradients, soft clouds, bokeh, paper grain, patterns and scenes.

Smooth fields are computed at a quarter of the output size and scaled up (they have no detail to
lose there), crisp shapes are drawn at full size; a 1024x1024 background costs tens of
milliseconds. Every random choice comes from the variation's seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gazo.backends.builtin.lexicon import RGB
from gazo.backends.builtin.palette import Palette
from gazo.backends.builtin.prompt import shade

Painter = Callable[[tuple[int, int], Palette, np.random.Generator], Image.Image]
_SCALE = 4


def paint_background(
    kind: str, size: tuple[int, int], palette: Palette, rng: np.random.Generator
) -> Image.Image:
    """An opaque RGB background of `size` in the style `kind` (see `PAINTERS`)."""
    return PAINTERS[kind](size, palette, rng)


def _ramp(field: np.ndarray, colours: tuple[RGB, ...]) -> np.ndarray:
    """Map a 0..1 field through evenly spaced colour stops."""
    stops = np.linspace(0.0, 1.0, len(colours))
    table = np.asarray(colours, dtype=np.float32)
    return np.stack([np.interp(field, stops, table[:, c]) for c in range(3)], axis=-1)


def _small(size: tuple[int, int]) -> tuple[int, int]:
    return max(8, size[0] // _SCALE), max(8, size[1] // _SCALE)


def _grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    width, height = _small(size)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs / max(1, width - 1), ys / max(1, height - 1)


def _to_image(pixels: np.ndarray, size: tuple[int, int]) -> Image.Image:
    small = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return small.resize(size, Image.Resampling.BILINEAR)


def _noise(shape: tuple[int, int], rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Fractal value noise in 0..1 (smooth blobs made of upsampled random grids)."""
    height, width = shape
    total = np.zeros(shape, np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 3 * 2**octave
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        layer = np.asarray(Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC))
        weight = 0.5**octave
        total += layer * weight
        weight_sum += weight
    total /= weight_sum
    return (total - total.min()) / max(1e-6, float(total.max() - total.min()))


def linear(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    xs, ys = _grid(size)
    angle = rng.uniform(0, 2 * math.pi)
    field = xs * math.cos(angle) + ys * math.sin(angle)
    field = (field - field.min()) / max(1e-6, float(field.max() - field.min()))
    return _to_image(_ramp(field, palette.background[:3]), size)


def radial(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    xs, ys = _grid(size)
    cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.6)
    field = np.clip(np.hypot(xs - cx, ys - cy) / 0.9, 0, 1)
    colours = (shade(palette.background[0], 0.25), *palette.background[:2])
    return _to_image(_ramp(field, colours), size)


def clouds(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    _, ys = _grid(size)
    base = _ramp(ys, palette.background[:2])
    puffs = np.clip((_noise(ys.shape, rng) - 0.45) * 2.2, 0, 1)[..., None]
    return _to_image(base * (1 - puffs * 0.8) + 255 * puffs * 0.8, size)


def paper(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    _, ys = _grid(size)
    mottling = _noise(ys.shape, rng, octaves=5)
    image = _to_image(_ramp(mottling * 0.35, (palette.background[0], palette.background[-1])), size)
    return add_grain(image, rng, 7)


def add_grain(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Film or paper grain: fine monochrome noise, the same on every channel."""
    pixels = np.asarray(image, dtype=np.int16)
    grain = rng.normal(0, strength, pixels.shape[:2]).astype(np.int16)[..., None]
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8), image.mode)


def _overlay(base: Image.Image, draw: Callable[[ImageDraw.ImageDraw], None], blur: float = 0) -> Image.Image:
    """Blend translucent shapes onto `base`, then soften it all (bases are smooth: only the shapes blur)."""
    image = base.convert("RGB")
    draw(ImageDraw.Draw(image, "RGBA"))
    return image.filter(ImageFilter.GaussianBlur(blur)) if blur else image


def bokeh(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = linear(size, palette, rng)
    side = min(size)
    circles = [
        (rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(0.02, 0.09) * side) for _ in range(28)
    ]

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        for index, (x, y, r) in enumerate(circles):
            colour = shade(palette.background[index % len(palette.background)], 0.6)
            canvas.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, int(rng.integers(50, 120))))

    return _overlay(base, draw, blur=side / 160)


def dots(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = linear(size, palette, rng)
    step = min(size) / rng.uniform(9, 15)
    radius, colour = step * rng.uniform(0.08, 0.16), shade(palette.accent, 0.2)

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        for row in range(int(size[1] / step) + 2):
            for column in range(int(size[0] / step) + 2):
                x, y = column * step + (step / 2 if row % 2 else 0), row * step
                canvas.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour, 70))

    return _overlay(base, draw)


def stripes(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    period = min(size) / rng.uniform(8, 16)
    band = (((xs + ys) // period) % 2).astype(np.float32)[..., None]
    first = np.asarray(palette.background[0], np.float32)
    return Image.fromarray(
        (first * (1 - band) + np.asarray(shade(palette.background[0], 0.15)) * band).astype(np.uint8)
    )


def sunburst(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    xs, ys = _grid(size)
    cx, cy = 0.5 + rng.uniform(-0.15, 0.15), 0.5 + rng.uniform(-0.15, 0.15)
    angle = np.arctan2(ys - cy, xs - cx)
    rays = int(rng.integers(12, 24))
    band = (np.floor((angle + math.pi) / (2 * math.pi) * rays * 2) % 2)[..., None]
    centre, edge = (
        np.asarray(palette.background[0], np.float32),
        np.asarray(shade(palette.background[0], -0.25)),
    )
    vignette = np.clip(np.hypot(xs - cx, ys - cy) / 0.8, 0, 1)[..., None]
    pixels = centre * (1 - vignette) + edge * vignette
    pixels = pixels * (1 - 0.12 * band) + 255 * 0.12 * band
    return _to_image(pixels, size)


def _sprinkle(
    size: tuple[int, int],
    rng: np.random.Generator,
    count: int,
    radii: tuple[float, float],
    colour: RGB,
    alpha: tuple[int, int],
) -> Callable[[ImageDraw.ImageDraw], None]:
    side = min(size)
    spots = [
        (
            rng.uniform(0, size[0]),
            rng.uniform(0, size[1]),
            rng.uniform(*radii) * side,
            int(rng.integers(*alpha)),
        )
        for _ in range(count)
    ]

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        for x, y, r, a in spots:
            canvas.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, a))

    return draw


def stars(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = _overlay(
        radial(size, palette, rng),
        _sprinkle(size, rng, 8, (0.05, 0.12), palette.accent, (20, 45)),
        blur=min(size) / 40,
    )
    return _overlay(base, _sprinkle(size, rng, 140, (0.0008, 0.004), (255, 255, 240), (120, 255)))


def snow(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = linear(size, palette, rng)
    return _overlay(base, _sprinkle(size, rng, 120, (0.002, 0.01), (255, 255, 255), (150, 240)), blur=1.2)


def confetti(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = Image.new("RGB", size, shade(palette.background[-1], 0.7))
    side = min(size)
    pieces = [
        (
            rng.uniform(0, size[0]),
            rng.uniform(0, size[1]),
            rng.uniform(0.006, 0.016) * side,
            palette.background[int(rng.integers(len(palette.background)))],
        )
        for _ in range(90)
    ]

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        for x, y, r, colour in pieces:
            canvas.rounded_rectangle((x - r, y - r * 0.5, x + r, y + r * 0.5), r * 0.3, fill=(*colour, 200))

    return _overlay(base, draw)


def _layers(size: tuple[int, int], palette: Palette, rng: np.random.Generator, wave: bool) -> Image.Image:
    """Sky gradient with layered hills (or sea waves) along the bottom third."""
    width, height = size
    sky = _ramp(np.linspace(0, 1, height, dtype=np.float32)[:, None].repeat(4, 1), palette.background[:2])
    image = Image.fromarray(sky.astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    xs = np.linspace(0, width, 96)
    for layer in range(3):
        base_y = height * (0.62 + 0.12 * layer)
        amplitude = height * (0.015 if wave else 0.05) * (1 + rng.random())
        phase, frequency = rng.uniform(0, 6.3), rng.uniform(1.5, 3.5) * (3 if wave else 1)
        ys = base_y + amplitude * np.sin(xs / width * frequency * math.pi + phase)
        colour = shade(palette.background[min(layer + 1, len(palette.background) - 1)], -0.12 * layer)
        draw.polygon([*zip(xs.tolist(), ys.tolist(), strict=True), (width, height), (0, height)], fill=colour)
    return image


def hills(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    return _layers(size, palette, rng, wave=False)


def waves(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    return _layers(size, palette, rng, wave=True)


def grid(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    base = radial(size, palette, rng)
    step = min(size) / rng.uniform(10, 16)

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        width = max(1, round(min(size) / 512))
        for index in range(int(max(size) / step) + 1):
            canvas.line((index * step, 0, index * step, size[1]), fill=(*palette.accent, 60), width=width)
            canvas.line((0, index * step, size[0], index * step), fill=(*palette.accent, 60), width=width)

    return _overlay(base, draw)


def watercolor(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    """Paper with soft washes of the palette's colours bleeding into each other."""
    small = _small(size)
    side = min(small)
    blobs = [
        (
            rng.uniform(0, small[0]),
            rng.uniform(0, small[1]),
            rng.uniform(0.15, 0.35) * side,
            palette.background[int(rng.integers(len(palette.background)))],
        )
        for _ in range(7)
    ]

    def draw(canvas: ImageDraw.ImageDraw) -> None:
        for x, y, r, colour in blobs:
            canvas.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=(*colour, 90))

    wash = _overlay(Image.new("RGB", small, shade(palette.background[-1], 0.6)), draw, blur=side / 30)
    return add_grain(wash.resize(size, Image.Resampling.BILINEAR), rng, 6)


def solid(size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Image.Image:
    return Image.new("RGB", size, palette.background[0])


PAINTERS: dict[str, Painter] = {
    "solid": solid,
    "linear": linear,
    "radial": radial,
    "clouds": clouds,
    "paper": paper,
    "bokeh": bokeh,
    "dots": dots,
    "stripes": stripes,
    "sunburst": sunburst,
    "stars": stars,
    "snow": snow,
    "confetti": confetti,
    "hills": hills,
    "waves": waves,
    "grid": grid,
    "watercolor": watercolor,
}
