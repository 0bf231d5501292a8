"""Exact text in a box: the largest size that fits, balanced lines, and a colour that stands out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gazo.typography.colour import RGB, contrast, edge_for, readable_on
from gazo.typography.fonts import Fonts

Box = tuple[int, int, int, int]
#: A set line: left x, baseline y, the text, its width.
Placed = tuple[float, float, str, float]
LINE_HEIGHT = 1.22
_REFERENCE_SIZE = 100


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[str, ...]
    size: int


def fit(text: str, box: Box, fonts: Fonts, max_lines: int = 3) -> TextBlock:
    """The arrangement of `text` in `box` with the largest type (at most `max_lines` lines)."""
    width, height = box[2] - box[0], box[3] - box[1]
    best = TextBlock((text,), 8)
    for count in range(1, max_lines + 1):
        lines = _wrap(text, count, fonts)
        widest = max(fonts.width(line, _REFERENCE_SIZE) for line in lines) / _REFERENCE_SIZE
        size = int(min(width / max(widest, 1e-3), height / (len(lines) * LINE_HEIGHT)))
        while size > 8 and max(fonts.width(line, size) for line in lines) > width:
            size = int(size * 0.96)
        if size > best.size * 1.08:  # one more line only when it buys clearly larger type
            best = TextBlock(lines, size)
    return best


def _wrap(text: str, count: int, fonts: Fonts) -> tuple[str, ...]:
    """Break into `count` lines of similar width: at spaces, or anywhere in Japanese."""
    if count == 1:
        return (text,)
    spaced = " " in text.strip()
    units = text.split() if spaced else list(text)
    joiner = " " if spaced else ""
    if len(units) < count:
        return (text,)
    target = fonts.width(text, _REFERENCE_SIZE) / count
    lines: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if current and fonts.width(candidate, _REFERENCE_SIZE) > target * 1.05 and len(lines) < count - 1:
            lines.append(current)
            current = unit
        else:
            current = candidate
    return (*lines, current)


def split_box(texts: list[str], box: Box) -> list[tuple[str, Box]]:
    """The first text as the headline in the top two thirds of `box`; further ones share a line below."""
    if len(texts) <= 1:
        return [(text, box) for text in texts]
    split = box[1] + round((box[3] - box[1]) * 0.66)
    left, top, right, bottom = box
    return [(texts[0], (left, top, right, split)), ("  ".join(texts[1:]), (left, split, right, bottom))]


@dataclass(frozen=True)
class TextLook:
    """How text is drawn: fill, an optional outline (`stroke_ratio` of the type size), a plate, or a glow."""

    fill: RGB
    stroke: RGB | None = None
    plate: tuple[int, int, int, int] | None = None
    glow: RGB | None = None
    stroke_ratio: float = 0.07

    def stroke_width(self, size: int) -> int:
        return max(2, round(size * self.stroke_ratio)) if self.stroke else 0


def area_colours(canvas: Image.Image, box: Box) -> tuple[RGB, float, float]:
    """What is under `box`: its typical (median) colour, its busyness (spread of brightness) and opacity."""
    region = np.asarray(canvas.crop(box).convert("RGBA").resize((64, 64)), dtype=np.float32)
    pixels = region[..., :3].reshape(-1, 3)
    red, green, blue = (int(v) for v in np.median(pixels, axis=0))
    return (red, green, blue), float(pixels.mean(-1).std()), float(region[..., 3].mean()) / 255


def choose_look(canvas: Image.Image, box: Box, preferred: RGB, style: str) -> TextLook:
    """Pick colours from what is under `box` so that the text reads: WCAG contrast against the
    area's typical colour, a halo of that colour to keep small clutter (confetti, stars) off the
    letters, a plate on busy areas, and an outline on transparent canvases."""
    typical, busyness, opacity = area_colours(canvas, box)
    if opacity < 0.5:  # transparent canvas: dark letters with a white edge read anywhere
        return TextLook(fill=(25, 25, 35), stroke=(255, 255, 255))
    fill = readable_on(typical, preferred)
    if style == "neon":
        return TextLook(
            fill=(255, 255, 255), glow=preferred if contrast(preferred, typical) > 2 else (255, 80, 200)
        )
    edge = edge_for(fill)
    if style in ("poster", "sticker"):
        return TextLook(fill=fill, stroke=edge)
    if busyness > 28:
        return TextLook(fill=fill, plate=(*edge, 150))
    return TextLook(fill=fill, stroke=typical)


def line_positions(block: TextBlock, box: Box, fonts: Fonts, align: str = "center") -> list[Placed]:
    """Where each line of `block` goes in `box`, vertically centred."""
    size = block.size
    line_height = size * LINE_HEIGHT
    top = box[1] + ((box[3] - box[1]) - line_height * len(block.lines)) / 2
    positions: list[Placed] = []
    for index, line in enumerate(block.lines):
        width = fonts.width(line, size)
        x = {"left": box[0], "right": box[2] - width}.get(align, (box[0] + box[2] - width) / 2)
        positions.append((x, top + index * line_height + size * 0.95, line, width))
    return positions


def draw_block(
    canvas: Image.Image, block: TextBlock, box: Box, look: TextLook, fonts: Fonts, align: str = "center"
) -> None:
    """Draw `block` into `box` of an RGBA `canvas`, vertically centred."""
    positions = line_positions(block, box, fonts, align)
    if look.plate:
        plate(canvas, positions, block.size, look.plate)
    if look.glow:
        _glow(canvas, positions, block.size, look.glow, fonts)
    draw, stroke = ImageDraw.Draw(canvas), look.stroke_width(block.size)
    for x, baseline, line, _ in positions:
        draw_line(draw, (x, baseline), line, block.size, fonts, look.fill, stroke, look.stroke)


def draw_line(
    draw: ImageDraw.ImageDraw,
    origin: tuple[float, float],
    line: str,
    size: int,
    fonts: Fonts,
    fill: RGB | int,
    stroke: int = 0,
    stroke_fill: RGB | int | None = None,
) -> None:
    """One line, run by run in the face that has each character (`fill` may be a grey level for masks)."""
    x, baseline = origin
    for run, face in fonts.runs(line):
        font = fonts.font(face, size)
        draw.text(
            (x, baseline),
            run,
            font=font,
            fill=fill,
            anchor="ls",
            stroke_width=stroke,
            stroke_fill=stroke_fill,
            language="ja" if face == 0 else None,
        )
        x += font.getlength(run)


def plate_box(positions: list[Placed], size: int) -> tuple[float, float, float, float]:
    """The rounded plate behind set lines, with a margin of a third of the type size."""
    pad = size * 0.3
    left = min(p[0] for p in positions) - pad
    right = max(p[0] + p[3] for p in positions) + pad
    return left, positions[0][1] - size * 1.05 - pad * 0.5, right, positions[-1][1] + size * 0.3 + pad * 0.5


def plate(canvas: Image.Image, positions: list[Placed], size: int, colour: tuple[int, int, int, int]) -> None:
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).rounded_rectangle(plate_box(positions, size), radius=size * 0.35, fill=colour)
    canvas.alpha_composite(layer)


def _glow(canvas: Image.Image, positions: list[Placed], size: int, colour: RGB, fonts: Fonts) -> None:
    layer = Image.new("RGBA", canvas.size, (*colour, 0))
    mask = Image.new("L", canvas.size, 0)
    draw = ImageDraw.Draw(mask)
    for x, baseline, line, _ in positions:
        draw_line(draw, (x, baseline), line, size, fonts, 255, max(2, size // 12), 255)
    layer.putalpha(mask.filter(ImageFilter.GaussianBlur(size / 6)))
    canvas.alpha_composite(layer)
    canvas.alpha_composite(layer)
