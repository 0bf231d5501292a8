"""Drawing a planned scene in stages (background, subjects, text, finish), each one a real partial image.

`draw_stages` is a generator: the backend advances all `n` images one stage at a time and streams
what each stage produced, so a client's partial images show the picture being built.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw

from gazo.backends.builtin import effects
from gazo.backends.builtin.assets import AssetLibrary
from gazo.backends.builtin.backgrounds import add_grain, paint_background
from gazo.backends.builtin.layout import Box, Spot
from gazo.backends.builtin.lexicon import RGB
from gazo.backends.builtin.scene import Scene
from gazo.typography.fonts import Fonts
from gazo.typography.typeset import choose_look, draw_block, fit, split_box

STAGES = ("background", "subjects", "text", "finish")


def draw_stages(
    scene: Scene,
    library: AssetLibrary,
    fonts: Fonts,
    rng: np.random.Generator,
    *,
    transparent: bool = False,
    ground: Image.Image | None = None,
) -> Iterator[Image.Image]:
    """Yield the canvas after each of `STAGES`; the last one is the finished image."""
    # 1. Background: painted, the edited image, or nothing at all for a transparent result
    if ground is not None:
        canvas = ground.convert("RGBA")
    elif transparent:
        canvas = Image.new("RGBA", scene.size, (0, 0, 0, 0))
    else:
        canvas = paint_background(scene.background, scene.size, scene.palette, rng).convert("RGBA")
    if scene.design.border:
        _border(canvas, scene.palette.accent)
    yield canvas
    # 2. Subjects: small props first, then the subjects over them
    for asset, spot in scene.decor:
        draw_icon(canvas, library.render(asset, spot.side), spot, scene, colour=None, decor=True)
    for spot in scene.layout.spots:
        chosen = scene.subjects[spot.subject]
        if chosen.image is not None:
            icon = chosen.image.resize((spot.side, spot.side), Image.Resampling.LANCZOS)
        elif chosen.asset is not None:
            icon = library.render(chosen.asset, spot.side)
        else:
            continue  # a subject is an asset or an image; nothing to draw otherwise
        draw_icon(canvas, icon, spot, scene, colour=chosen.colour)
    yield canvas
    # 3. Text: exactly as quoted, the largest size that fits its box
    if scene.design.text and scene.layout.text_box:
        set_text(canvas, scene, fonts, scene.layout.text_box)
    yield canvas
    # 4. Finish: grain for printed looks; flatten unless transparency was asked for
    yield _finish(canvas, scene, rng, transparent)


def style_of(scene: Scene) -> str:
    """The one look that decides outlines, shadows and text treatment."""
    for style in ("neon", "sticker", "poster", "banner", "pixel", "watercolor", "retro"):
        if scene.design.has(style):
            return style
    return "flat"


def draw_icon(
    canvas: Image.Image,
    icon: Image.Image,
    spot: Spot,
    scene: Scene,
    *,
    colour: RGB | None,
    decor: bool = False,
) -> None:
    """Draw one icon centred on `spot` with the scene's look."""
    style, side = style_of(scene), spot.side
    if colour is not None:
        icon = effects.tint(icon, colour)
    if style == "pixel":
        icon = effects.pixelate(icon)
    elif style == "watercolor":
        icon = effects.soften(icon, 0.8, side / 400)
    elif style == "retro":
        icon = effects.soften(icon, 0.7, 0)
    if spot.angle:
        icon = icon.rotate(spot.angle, Image.Resampling.BICUBIC, expand=True)
    if not decor:
        icon = _lift(icon, style, side, scene.palette.accent)
    _paste(canvas, icon, (round(spot.x - icon.width / 2), round(spot.y - icon.height / 2)))


def _lift(icon: Image.Image, style: str, side: int, accent: RGB) -> Image.Image:
    """Separate a subject from the background: outline, glow or a soft shadow."""
    if style == "sticker":
        icon = effects.outline(icon, max(2, round(side * 0.045)))
        return effects.drop_shadow(icon, (0, round(side * 0.02)), side * 0.025, 0.4)[0]
    if style == "neon":
        return effects.glow(icon, accent, side * 0.05)[0]
    if style in ("pixel", "watercolor"):
        return icon
    return effects.drop_shadow(icon, (0, round(side * 0.03)), side * 0.035, 0.3)[0]


def _paste(canvas: Image.Image, layer: Image.Image, origin: tuple[int, int]) -> None:
    """`alpha_composite` that accepts layers hanging over the canvas edge."""
    x, y = origin
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(layer.width, canvas.width - x), min(layer.height, canvas.height - y)
    if right <= left or bottom <= top:
        return
    canvas.alpha_composite(layer, (x + left, y + top), (left, top, right, bottom))


def set_text(canvas: Image.Image, scene: Scene, fonts: Fonts, box: Box) -> None:
    """The first quoted text as the headline; further ones share a smaller line below it."""
    style = style_of(scene)
    for text, area in split_box(scene.design.text, box):
        block = fit(text, area, fonts, max_lines=3 if len(text) > 12 else 2)
        look = choose_look(canvas, area, scene.palette.accent, style)
        draw_block(canvas, block, area, look, fonts, scene.layout.text_align)


def _border(canvas: Image.Image, colour: RGB) -> None:
    side = min(canvas.size)
    inset, width = round(side * 0.03), max(2, round(side * 0.018))
    box = (inset, inset, canvas.width - inset, canvas.height - inset)
    ImageDraw.Draw(canvas).rounded_rectangle(box, radius=side * 0.04, outline=(*colour, 255), width=width)


def _finish(canvas: Image.Image, scene: Scene, rng: np.random.Generator, transparent: bool) -> Image.Image:
    strength = {"poster": 5.0, "retro": 7.0, "watercolor": 3.0}.get(style_of(scene), 0.0)
    if strength and not transparent:
        canvas = add_grain(canvas.convert("RGB"), rng, strength).convert("RGBA")
    image = canvas if transparent else canvas.convert("RGB")
    image.info.update(scene.describe())
    return image
