"""Where things go: a box for the headline, a box for the subjects, and each subject's place and size.

Layout words win ("text at the top", "a cat on the left"); otherwise the canvas shape decides
(wide: text beside the subjects, tall or square: above or below) and the variation's generator
picks among good arrangements: a single subject on a third or in the centre, several in a loose
grid with the most important one largest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gazo.backends.builtin.prompt import Design

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Spot:
    """One drawn item: its square's centre and side, its rotation (degrees), and which subject it is."""

    x: float
    y: float
    side: int
    angle: float
    subject: int


@dataclass(frozen=True)
class Layout:
    text_box: Box | None
    text_align: str
    spots: tuple[Spot, ...]


def plan_layout(
    design: Design, size: tuple[int, int], subjects: list[int], rng: np.random.Generator
) -> Layout:
    """Place `subjects` (one entry per drawn instance, by subject index; index 0 matters most)."""
    width, height = size
    margin = round(min(size) * 0.06)
    text_box, align, free = _text_area(design, size, margin, rng, bool(subjects))
    if design.has("pattern"):
        return Layout(text_box, align, _tiles((0, 0, width, height), subjects, rng))
    if subjects and design.subject_position and not design.text:
        free = _side(free, design.subject_position, 0.6)
    return Layout(text_box, align, _arrange(free, subjects, rng, playful=_playful(design)))


def _playful(design: Design) -> bool:
    return any(design.has(s) for s in ("sticker", "pastel", "pattern")) or "party" in design.moods


def _text_area(
    design: Design, size: tuple[int, int], margin: int, rng: np.random.Generator, has_subjects: bool
) -> tuple[Box | None, str, Box]:
    """The headline's box and alignment, and the box left for the subjects."""
    width, height = size
    full = (margin, margin, width - margin, height - margin)
    if not design.text:
        return None, "center", full
    if not has_subjects:
        band = round(height * 0.5)
        return (margin, (height - band) // 2, width - margin, (height + band) // 2), "center", full
    opposite = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
    position = design.text_position or opposite.get(design.subject_position or "")
    if position is None:
        wide = width / height >= 1.3 or design.has("banner")
        position = "left" if wide else ("top" if rng.random() < 0.7 else "bottom")
    if position == "center":
        band = round(height * 0.3)
        return (margin, (height - band) // 2, width - margin, (height + band) // 2), "center", full
    if position in ("left", "right"):
        split = round(width * 0.5)
        text = (margin, margin * 2, split - margin // 2, height - margin * 2)
        rest = (split, margin, width - margin, height - margin)
        if position == "right":
            text, rest = (
                (width - text[2], text[1], width - text[0], text[3]),
                (margin, margin, width - split, height - margin),
            )
        return text, "center", rest
    band = round(height * (0.3 if design.has("poster") else 0.26))
    if position == "top":
        return (
            (margin, margin, width - margin, margin + band),
            "center",
            (margin, margin + band, width - margin, height - margin),
        )
    return (
        (margin, height - margin - band, width - margin, height - margin),
        "center",
        (margin, margin, width - margin, height - margin - band),
    )


def _side(box: Box, position: str, share: float) -> Box:
    """The part of `box` toward `position`, `share` of its width or height."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return {
        "left": (x0, y0, x0 + round(w * share), y1),
        "right": (x1 - round(w * share), y0, x1, y1),
        "top": (x0, y0, x1, y0 + round(h * share)),
        "bottom": (x0, y1 - round(h * share), x1, y1),
    }.get(position, box)


def _arrange(box: Box, subjects: list[int], rng: np.random.Generator, playful: bool) -> tuple[Spot, ...]:
    if not subjects:
        return ()
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    tilt = 10.0 if playful else 3.0
    if len(subjects) == 1:
        side = round(min(w, h) * rng.uniform(0.8, 0.94))
        thirds = (0.5, 0.5) if w / h < 1.25 else (rng.choice([0.38, 0.5, 0.62]), 0.5)
        cx = x0 + w * thirds[0]
        cx = min(max(cx, x0 + side / 2), x1 - side / 2)
        return (Spot(cx, y0 + h * thirds[1], side, rng.uniform(-tilt, tilt) * 0.5, subjects[0]),)
    count = len(subjects)
    columns = max(range(1, count + 1), key=lambda c: min(w / c, h / math.ceil(count / c)))
    rows = math.ceil(count / columns)
    cell_w, cell_h = w / columns, h / rows
    cells = [(r, c) for r in range(rows) for c in range(columns)][:count]
    centre = ((rows - 1) / 2, (columns - 1) / 2)
    cells.sort(key=lambda rc: (rc[0] - centre[0]) ** 2 + (rc[1] - centre[1]) ** 2 + rng.uniform(0, 0.3))
    spots = []
    for order, (subject, (row, column)) in enumerate(zip(subjects, cells, strict=True)):
        scale = 1.1 if order == 0 else (0.9 if subject == subjects[0] else 0.8)
        side = round(min(cell_w, cell_h) * 0.95 * scale * rng.uniform(0.92, 1.0))
        jitter = max(0.0, (min(cell_w, cell_h) - side) / 2)
        cx = x0 + (column + 0.5) * cell_w + rng.uniform(-jitter, jitter)
        cy = y0 + (row + 0.5) * cell_h + rng.uniform(-jitter, jitter)
        spots.append(Spot(cx, cy, side, rng.uniform(-tilt, tilt), subject))
    return tuple(spots)


def _tiles(box: Box, subjects: list[int], rng: np.random.Generator) -> tuple[Spot, ...]:
    """A half-drop repeat of the subjects over the whole canvas (pattern and wallpaper styles)."""
    kinds = sorted(set(subjects)) or [0]
    x0, y0, x1, y1 = box
    step = min(x1 - x0, y1 - y0) / rng.uniform(3.2, 4.5)
    spots, index = [], 0
    for row in range(int((y1 - y0) / step) + 2):
        for column in range(int((x1 - x0) / step) + 2):
            cx = x0 + column * step + (step / 2 if row % 2 else 0)
            spots.append(
                Spot(cx, y0 + row * step, round(step * 0.62), rng.uniform(-18, 18), kinds[index % len(kinds)])
            )
            index += 1
    return tuple(spots)


def decor_spots(size: tuple[int, int], taken: list[Box], count: int, rng: np.random.Generator) -> list[Spot]:
    """Small props in free space: away from the subjects and the text."""
    side = round(min(size) * rng.uniform(0.07, 0.1))
    spots: list[Spot] = []
    for _ in range(count * 12):
        if len(spots) == count:
            break
        cx, cy = rng.uniform(side, size[0] - side), rng.uniform(side, size[1] - side)
        box = (int(cx - side), int(cy - side), int(cx + side), int(cy + side))
        if not any(_overlaps(box, other) for other in taken):
            spots.append(Spot(cx, cy, side, rng.uniform(-20, 20), len(spots)))
            taken.append(box)
    return spots


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def spot_box(spot: Spot) -> Box:
    half = spot.side / 2
    return int(spot.x - half), int(spot.y - half), int(spot.x + half), int(spot.y + half)
