"""Edits: what goes into a mask (the prompt's subject, its text, a colour, or a content-aware fill),
and what happens to an unmasked image (restyled toward the prompt, references placed on it).

The service restores every pixel outside the mask afterwards; this module's job is that the inside
looks right: the fill continues its surroundings, and a subject is sized to the largest free
circle of the mask so that it is not cut by the mask's edge.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from gazo.backends.builtin.assets import AssetLibrary
from gazo.backends.builtin.backgrounds import paint_background
from gazo.backends.builtin.fill import content_fill
from gazo.backends.builtin.layout import Layout, Spot, plan_layout
from gazo.backends.builtin.prompt import Design
from gazo.backends.builtin.scene import Chosen, Scene, plan_scene
from gazo.imaging import fit_to, has_alpha, matte_from_border, steer_colours
from gazo.jobs import EditJob

#: At most this many reference images are placed on an unmasked edit.
MAX_PLACED_REFERENCES = 4


def plan_edit(
    job: EditJob,
    design: Design,
    library: AssetLibrary,
    rng: np.random.Generator,
    *,
    variation: int,
    restyle: float,
) -> tuple[Scene, Image.Image]:
    """The scene to draw and the ground to draw it on, for one variation of an edit."""
    size = (job.size.width, job.size.height)
    keep_alpha = job.background == "transparent" and has_alpha(job.images[0])
    base = fit_to(job.images[0].convert("RGBA" if keep_alpha else "RGB"), job.size)
    references = tuple(job.images[1:])
    scene = plan_scene(
        design, size, library, rng, variation=variation, hero=False, references=references or (base,)
    )
    scene.decor = []
    if job.mask is None:
        return _unmasked(scene, references, rng), _restyled(base, design, scene, references, restyle)
    mask = np.asarray(job.mask.convert("L")) > 127
    if not mask.any():  # nothing to repaint
        return replace_layout(scene, ()), base
    if mask.mean() > 0.98:  # everything repainted: a new picture of the prompt
        return scene, paint_background(scene.background, size, scene.palette, rng)
    ground = content_fill(base, mask, rng)
    if design.remove:
        scene.subjects, scene.layout = [], Layout(None, "center", ())
        return scene, ground
    if not scene.subjects and references:
        scene.subjects = [_reference_subject(references[0])]
    if not scene.subjects and not design.text and design.colours:
        return replace_layout(scene, ()), _recolour(ground, base, mask, design)
    return _into_mask(scene, mask), ground


def replace_layout(
    scene: Scene, spots: tuple[Spot, ...], text_box: tuple[int, int, int, int] | None = None
) -> Scene:
    scene.layout = Layout(text_box, "center", spots)
    return scene


def _into_mask(scene: Scene, mask: np.ndarray) -> Scene:
    """The subject on the mask's largest free circle; text in the mask's box (below a subject)."""
    padded = np.pad(mask.astype(np.uint8), 1)  # the image edge bounds the circle too
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    row, column = np.unravel_index(int(np.argmax(distance)), distance.shape)
    y, x = int(row), int(column)
    radius = float(distance[y, x])
    rows, columns = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = (int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
    if not scene.subjects:
        return replace_layout(scene, (), box)
    side = round(radius * 1.7)
    text_box = None
    if scene.design.text:
        side = round(radius * 1.2)
        text_box = (box[0], min(box[3] - 1, int(y + side * 0.6)), box[2], box[3])
        y = int(y - side * 0.25)
    spot = Spot(float(x), float(y), max(8, side), 0.0, 0)
    return replace_layout(scene, (spot,), text_box)


def _unmasked(scene: Scene, references: tuple[Image.Image, ...], rng: np.random.Generator) -> Scene:
    """Without a mask, the picture stays; the prompt's subjects and text (and the references) join it."""
    placed = [_reference_subject(reference) for reference in references[:MAX_PLACED_REFERENCES]]
    if placed:
        scene.subjects = [*scene.subjects, *placed]
        instances = [i for i, chosen in enumerate(scene.subjects) for _ in range(chosen.count)]
        scene.layout = plan_layout(scene.design, scene.size, instances, rng)
    return scene


def _restyled(
    base: Image.Image, design: Design, scene: Scene, references: tuple[Image.Image, ...], restyle: float
) -> Image.Image:
    """The base pulled toward the named colours or the references' palette (`restyle`: 0 keeps it)."""
    if restyle <= 0 or not (design.colours or design.moods or references):
        return base
    swatch = Image.new("RGB", (len(scene.palette.background), 1))
    swatch.putdata(list(scene.palette.background))
    steered = steer_colours(base.convert("RGB"), references or (swatch,), restyle)
    if base.mode == "RGBA":
        steered.putalpha(base.getchannel("A"))
    return steered


def _recolour(ground: Image.Image, base: Image.Image, mask: np.ndarray, design: Design) -> Image.Image:
    """ "Make it blue": the masked area keeps its shading and takes the named colour."""
    grey = np.asarray(base.convert("L"), dtype=np.float32) / 255.0
    colour = np.asarray(design.colours[0], np.float32)
    tinted = np.clip(colour * (0.35 + 0.9 * grey[..., None]), 0, 255).astype(np.uint8)
    rgb = np.asarray(ground.convert("RGB")).copy()
    rgb[mask] = tinted[mask]
    return Image.fromarray(rgb, "RGB")


def _reference_subject(reference: Image.Image) -> Chosen:
    """A reference as a drawable subject: cut out when it sits on a plain background, else a framed photo."""
    rgb = reference.convert("RGB")
    rgb.thumbnail((768, 768))
    if has_alpha(reference):
        cut = reference.convert("RGBA")
        cut.thumbnail((768, 768))
    elif _plain_border(rgb):
        cut = matte_from_border(rgb)
    else:
        cut = _framed(rgb)
    return Chosen(asset=None, colour=None, count=1, image=_square(cut))


def _plain_border(image: Image.Image) -> bool:
    pixels = np.asarray(image, dtype=np.float32)
    border = np.concatenate(
        [
            pixels[:4].reshape(-1, 3),
            pixels[-4:].reshape(-1, 3),
            pixels[:, :4].reshape(-1, 3),
            pixels[:, -4:].reshape(-1, 3),
        ]
    )
    return float(border.std(0).max()) < 12.0


def _framed(image: Image.Image) -> Image.Image:
    pad = max(6, round(max(image.size) * 0.04))
    framed = ImageOps.expand(image, pad, fill=(255, 255, 255)).convert("RGBA")
    corners = Image.new("L", framed.size, 0)
    ImageDraw.Draw(corners).rounded_rectangle((0, 0, *framed.size), radius=pad * 1.5, fill=255)
    framed.putalpha(corners)
    return framed


def _square(image: Image.Image) -> Image.Image:
    side = max(image.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square
