"""Exact text in a box: the largest size that fits, balanced lines, and a colour that stands out.

Noto Sans CJK JP Bold sets Latin and Japanese alike; letters it lacks (Ł, ş, ő, İ…) fall back to
Noto Sans, run by run, since Pillow has no font fallback of its own. Both are OFL fonts installed
from PyPI (`noto-cjk-sans-jp-bold`, `fontpkg-noto-sans`), so no system fonts are needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from gazo.backends.builtin.lexicon import RGB
from gazo.backends.builtin.palette import contrast, luminance, readable_on

Box = tuple[int, int, int, int]
#: A set line: left x, baseline y, the text, its width.
Placed = tuple[float, float, str, float]
_LINE_HEIGHT = 1.22
_REFERENCE_SIZE = 100


def _font_paths() -> tuple[Path, Path]:
    import fontpkg_noto_sans
    import noto_cjk_sans_jp_bold

    latin = next((Path(fontpkg_noto_sans.ROOT) / "files").glob("NotoSans[[]*"))
    return Path(noto_cjk_sans_jp_bold.FONT_PATH), latin


class Fonts:
    """The two faces and their character maps, read once at load."""

    def __init__(self) -> None:
        self.paths = _font_paths()
        self.cmaps = [set(TTFont(path, lazy=True).getBestCmap()) for path in self.paths]

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one Fonts per backend, sizes are few
    def font(self, face: int, size: int) -> ImageFont.FreeTypeFont:
        font = ImageFont.truetype(str(self.paths[face]), size)
        if face == 1:
            font.set_variation_by_name("Bold")
        return font

    def runs(self, text: str) -> list[tuple[str, int]]:
        """Split `text` into runs set in the first face that has each character."""
        runs: list[tuple[str, int]] = []
        for char in text:
            face = 0 if ord(char) in self.cmaps[0] or ord(char) not in self.cmaps[1] else 1
            if runs and runs[-1][1] == face:
                runs[-1] = (runs[-1][0] + char, face)
            else:
                runs.append((char, face))
        return runs

    def width(self, text: str, size: int) -> float:
        return sum(self.font(face, size).getlength(run) for run, face in self.runs(text))


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
        size = int(min(width / max(widest, 1e-3), height / (len(lines) * _LINE_HEIGHT)))
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
    lines, current = [], ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if current and fonts.width(candidate, _REFERENCE_SIZE) > target * 1.05 and len(lines) < count - 1:
            lines.append(current)
            current = unit
        else:
            current = candidate
    return (*lines, current)


@dataclass(frozen=True)
class TextLook:
    """How text is drawn: fill, an optional outline, a plate behind it, or a glow."""

    fill: RGB
    stroke: RGB | None = None
    plate: tuple[int, int, int, int] | None = None
    glow: RGB | None = None


def choose_look(canvas: Image.Image, box: Box, preferred: RGB, style: str) -> TextLook:
    """Pick colours from what is under `box` so that the text reads: WCAG contrast against the
    area's typical colour, a halo of that colour to keep small clutter (confetti, stars) off the
    letters, a plate on busy areas, and an outline on transparent canvases."""
    region = np.asarray(canvas.crop(box).convert("RGBA").resize((64, 64)), dtype=np.float32)
    if region[..., 3].mean() < 128:  # transparent canvas: dark letters with a white edge read anywhere
        return TextLook(fill=(25, 25, 35), stroke=(255, 255, 255))
    pixels = region[..., :3].reshape(-1, 3)
    typical: RGB = tuple(int(v) for v in np.median(pixels, axis=0))  # type: ignore[assignment]
    busy = float(pixels.mean(-1).std()) > 28
    fill = readable_on(typical, preferred)
    if style == "neon":
        return TextLook(
            fill=(255, 255, 255), glow=preferred if contrast(preferred, typical) > 2 else (255, 80, 200)
        )
    edge = (20, 20, 28) if luminance(fill) > 0.5 else (255, 255, 255)
    if style in ("poster", "sticker"):
        return TextLook(fill=fill, stroke=edge)
    if busy:
        return TextLook(fill=fill, plate=(*edge, 150))
    return TextLook(fill=fill, stroke=typical)


def draw_block(
    canvas: Image.Image, block: TextBlock, box: Box, look: TextLook, fonts: Fonts, align: str = "center"
) -> None:
    """Draw `block` into `box` of an RGBA `canvas`, vertically centred."""
    size = block.size
    line_height = size * _LINE_HEIGHT
    top = box[1] + ((box[3] - box[1]) - line_height * len(block.lines)) / 2
    stroke = max(2, round(size * 0.07)) if look.stroke else 0
    positions: list[Placed] = []
    for index, line in enumerate(block.lines):
        width = fonts.width(line, size)
        x = (
            box[0]
            if align == "left"
            else box[2] - width
            if align == "right"
            else (box[0] + box[2] - width) / 2
        )
        positions.append((x, top + index * line_height + size * 0.95, line, width))
    if look.plate:
        _plate(canvas, positions, size, look.plate)
    if look.glow:
        _glow(canvas, positions, size, look.glow, fonts)
    draw = ImageDraw.Draw(canvas)
    for x, baseline, line, _ in positions:
        _draw_line(draw, (x, baseline), line, size, fonts, look.fill, stroke, look.stroke)


def _draw_line(
    draw: ImageDraw.ImageDraw,
    origin: tuple[float, float],
    line: str,
    size: int,
    fonts: Fonts,
    fill: RGB,
    stroke: int = 0,
    stroke_fill: RGB | None = None,
) -> None:
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


def _plate(
    canvas: Image.Image, positions: list[Placed], size: int, colour: tuple[int, int, int, int]
) -> None:
    pad = size * 0.3
    left = min(p[0] for p in positions) - pad
    right = max(p[0] + p[3] for p in positions) + pad
    top, bottom = positions[0][1] - size * 1.05 - pad * 0.5, positions[-1][1] + size * 0.3 + pad * 0.5
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).rounded_rectangle((left, top, right, bottom), radius=size * 0.35, fill=colour)
    canvas.alpha_composite(layer)


def _glow(canvas: Image.Image, positions: list[Placed], size: int, colour: RGB, fonts: Fonts) -> None:
    layer = Image.new("RGBA", canvas.size, (*colour, 0))
    mask = Image.new("L", canvas.size, 0)
    draw = ImageDraw.Draw(mask)
    for x, baseline, line, _ in positions:
        _draw_line(draw, (x, baseline), line, size, fonts, 255, max(2, size // 12), 255)  # type: ignore[arg-type]
    layer.putalpha(mask.filter(ImageFilter.GaussianBlur(size / 6)))
    canvas.alpha_composite(layer)
    canvas.alpha_composite(layer)
