"""Exact text over any picture: where it goes, how it reads, and which pixels must come back unchanged.

A model that cannot spell renders the picture; `typeset_over` lays the text on it in the calmest band,
in the colour that contrasts most with the ground, outlined in the opposite one (with a plate on busy
ground); the model then repaints `TextOverlay.region` at low strength so the text sits in the scene;
`restore_letters` frosts what the model painted behind the letters as far as it is busy, then puts
every glyph and outline pixel back exactly. The model may change the light around the letters, never
the letters, and nothing it paints can make them unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from gazo.imaging import keep_unmasked
from gazo.typography.colour import LIGHT, RGB, edge_for, readable_on
from gazo.typography.fonts import Fonts
from gazo.typography.typeset import (
    Box,
    TextBlock,
    TextLook,
    area_colours,
    draw_line,
    fit,
    line_positions,
    plate,
    plate_box,
    split_box,
)

_MARGIN = 0.06  # of the area's width and height, kept free around the text
_BANDS = ((0.05, 0.37), (0.34, 0.66), (0.63, 0.95))  # top, middle, bottom: fractions of the area's height
_CALM, _BUSY = 8.0, 28.0  # brightness spread under the text (64x64 sample): calm ground, noise
_FROST_CALM, _FROST_BUSY = 10.0, 30.0  # the same, at full resolution, behind the letters after harmonising


@dataclass(frozen=True)
class Backing:
    """The rounded area behind a text block, and the colour that sets its letters off."""

    box: tuple[float, float, float, float]
    size: int  # of the type
    colour: RGB


@dataclass(frozen=True)
class TextOverlay:
    """The picture with its text set, and what the harmonising pass and the restoring step need."""

    image: Image.Image  # the picture with the text drawn on it
    letters: Image.Image  # "L": 255 on every glyph and outline pixel (these come back exactly)
    region: Image.Image  # "L": 255 where a model may repaint to blend the text in
    backings: tuple[Backing, ...]


def typeset_over(
    picture: Image.Image, texts: list[str], fonts: Fonts, *, within: Image.Image | None = None
) -> TextOverlay:
    """Set `texts` (the first as the headline) over `picture`, inside `within` (255 = allowed) if given."""
    # 1. The area the text may use: the edit region's bounding box, else the whole picture
    area = _area(picture.size, within)
    # 2. The calmest band of that area holds the text (a small area is one band)
    band = _calmest_band(picture, area)
    canvas = picture.convert("RGBA")
    letters = Image.new("L", picture.size, 0)
    region = Image.new("L", picture.size, 0)
    backings: list[Backing] = []
    # 3. Each text: the largest type that fits its box, a look from what is under it, then drawn
    for text, box in split_box(texts, band):
        block = fit(text, box, fonts, max_lines=3 if len(text) > 12 else 2)
        look = _look(canvas, box)
        backings.append(_draw(canvas, letters, region, block, box, look, fonts))
    # 4. The model may repaint only around the text, and only where the edit is allowed
    if within is not None:
        region = Image.fromarray(np.minimum(np.asarray(region), np.asarray(within.convert("L"))), "L")
    image = canvas if picture.mode == "RGBA" else canvas.convert(picture.mode)
    return TextOverlay(image=image, letters=letters, region=region, backings=tuple(backings))


def letter(
    pictures: list[Image.Image],
    texts: list[str],
    fonts: Fonts,
    *,
    within: Image.Image | None = None,
    harmonise: Callable[[list[Image.Image]], list[Image.Image]] | None = None,
) -> list[Image.Image]:
    """Set `texts` over every picture, let `harmonise` (a low-strength repaint by the model) blend them
    in, and bring every letter back exactly; without `harmonise`, the typeset pictures as they are.

    `harmonise` gets only the part of each picture around its text (crops of one size, sides in
    multiples of 64 where the picture allows), so the extra pass costs a fraction of a full one."""
    overlays = [typeset_over(picture, texts, fonts, within=within) for picture in pictures]
    boxes = _harmonise_boxes(overlays)
    if harmonise is None or boxes is None:
        return [overlay.image for overlay in overlays]
    crops = harmonise([overlay.image.crop(box) for overlay, box in zip(overlays, boxes, strict=True)])
    results = []
    for crop, overlay, box in zip(crops, overlays, boxes, strict=True):
        harmonised = overlay.image.copy()
        harmonised.paste(crop.convert(harmonised.mode), box[:2])
        results.append(restore_letters(harmonised, overlay))
    return results


def _harmonise_boxes(overlays: list[TextOverlay], context: int = 32, multiple: int = 64) -> list[Box] | None:
    """Around each overlay's region (with some context), boxes of one size that fit in the picture."""
    regions = [box for overlay in overlays if (box := overlay.region.getbbox())]
    if len(regions) < len(overlays):
        return None
    width, height = overlays[0].image.size
    spans = [(b[0] - context, b[1] - context, b[2] + context, b[3] + context) for b in regions]
    box_width = _snap(max(right - left for left, _, right, _ in spans), width, multiple)
    box_height = _snap(max(bottom - top for _, top, _, bottom in spans), height, multiple)
    boxes: list[Box] = []
    for left, top, right, bottom in spans:
        x = min(max(0, (left + right - box_width) // 2), width - box_width)
        y = min(max(0, (top + bottom - box_height) // 2), height - box_height)
        boxes.append((x, y, x + box_width, y + box_height))
    return boxes


def _snap(length: int, limit: int, multiple: int) -> int:
    """`length` rounded up to a multiple of `multiple`, or `limit` (the picture's side) if that is less."""
    return min(limit, -(-length // multiple) * multiple)


def restore_letters(harmonised: Image.Image, overlay: TextOverlay) -> Image.Image:
    """`harmonised` inside `overlay.region` only (seam inside it), frosted behind the text as far as it is
    busy, with every glyph and outline pixel exactly as typeset."""
    mode = overlay.image.mode
    blended = keep_unmasked(overlay.image, harmonised.convert(mode), overlay.region)
    for backing in overlay.backings:
        _frost(blended, backing, overlay.region)
    return Image.composite(overlay.image, blended, overlay.letters)


def _area(size: tuple[int, int], within: Image.Image | None) -> Box:
    width, height = size
    left, top, right, bottom = (within.getbbox() if within is not None else None) or (0, 0, width, height)
    dx, dy = round((right - left) * _MARGIN), round((bottom - top) * _MARGIN)
    return left + dx, top + dy, right - dx, bottom - dy


def _calmest_band(picture: Image.Image, area: Box) -> Box:
    left, top, right, bottom = area
    height = bottom - top
    if height < 0.45 * picture.height:  # a small edit region: the text fills it
        return area
    bands = [(left, top + round(a * height), right, top + round(b * height)) for a, b in _BANDS]
    grey = np.asarray(picture.convert("L"), dtype=np.float32)
    detail = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1, :]
    return min(bands, key=lambda box: float(detail[box[1] : box[3], box[0] : box[2]].mean()))


def _busy(spread: float, calm: float, busy: float) -> float:
    """0 on calm ground, 1 on ground as busy as noise."""
    return min(1.0, max(0.0, (spread - calm) / (busy - calm)))


def _look(canvas: Image.Image, box: Box) -> TextLook:
    """Letters in the colour that contrasts most with the ground, outlined in the opposite colour; the
    outline widens, and a plate of that colour appears, as the ground gets busier."""
    typical, spread, _ = area_colours(canvas, box)
    fill = readable_on(typical, LIGHT)
    edge = edge_for(fill)
    busy = _busy(spread, _CALM, _BUSY)
    backing = (*edge, round(110 + 110 * busy)) if busy > 0 else None
    return TextLook(fill=fill, stroke=edge, plate=backing, stroke_ratio=0.07 + 0.04 * busy)


def _draw(
    canvas: Image.Image,
    letters: Image.Image,
    region: Image.Image,
    block: TextBlock,
    box: Box,
    look: TextLook,
    fonts: Fonts,
) -> Backing:
    positions = line_positions(block, box, fonts)
    size, stroke = block.size, look.stroke_width(block.size)
    if look.plate:
        plate(canvas, positions, size, look.plate)
    draw, mask = ImageDraw.Draw(canvas), ImageDraw.Draw(letters)
    for x, baseline, line, _ in positions:
        draw_line(draw, (x, baseline), line, size, fonts, look.fill, stroke, look.stroke)
        draw_line(mask, (x, baseline), line, size, fonts, 255, stroke, 255)
    left, top, right, bottom = plate_box(positions, size)
    grow = size * 0.35
    ImageDraw.Draw(region).rectangle((left - grow, top - grow, right + grow, bottom + grow), fill=255)
    return Backing((left, top, right, bottom), size, look.stroke or edge_for(look.fill))


def _frost(image: Image.Image, backing: Backing, region: Image.Image) -> None:
    """Calm the ground behind a text block in place: blur it and tint it toward the outline colour, as
    strongly as it is busy (calm ground is left as the model painted it)."""
    left, top, right, bottom = (round(v) for v in backing.box)
    left, top = max(0, left), max(0, top)
    right, bottom = min(image.width, right), min(image.height, bottom)
    if right - left < 2 or bottom - top < 2:
        return
    crop = image.crop((left, top, right, bottom))
    busy = _busy(float(np.asarray(crop.convert("L"), dtype=np.float32).std()), _FROST_CALM, _FROST_BUSY)
    if busy == 0:
        return
    radius = backing.size * 0.35
    calmed = crop.filter(ImageFilter.GaussianBlur(radius))
    tint = Image.new(crop.mode, crop.size, backing.colour if crop.mode == "RGB" else (*backing.colour, 255))
    calmed = Image.blend(calmed, tint, 0.3 + 0.45 * busy)
    shape = Image.new("L", crop.size, 0)
    ImageDraw.Draw(shape).rounded_rectangle((0, 0, *crop.size), radius=radius, fill=round(255 * busy))
    allowed = region.crop((left, top, right, bottom))
    shape = ImageChops.darker(shape.filter(ImageFilter.GaussianBlur(1.5)), allowed)
    image.paste(calmed, (left, top), shape)
