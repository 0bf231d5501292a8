"""One variation of a design, decided before any pixel is drawn: icons, palette, background, layout.

Every choice is drawn from the variation's own generator, so the same seed gives the same scene
and each of `n` images gets a different but faithful one (another near-equal icon, arrangement,
background texture, small shifts of the palette).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from gazo.backends.builtin.assets import NEAR_BEST, Asset, AssetLibrary
from gazo.backends.builtin.layout import Layout, Spot, decor_spots, plan_layout, spot_box
from gazo.backends.builtin.lexicon import RGB
from gazo.backends.builtin.palette import Palette, choose_palette
from gazo.backends.builtin.prompt import Design

#: Most instances drawn, whatever the counts in the prompt add up to.
MAX_INSTANCES = 8
#: Matching the whole prompt is a last resort: it must be at least this close.
WHOLE_PROMPT_MIN = 0.3


@dataclass(frozen=True)
class Chosen:
    """A subject of the prompt and the icon drawn for it (or a reference image placed as a subject)."""

    asset: Asset | None
    colour: RGB | None
    count: int
    image: Image.Image | None = None

    @property
    def name(self) -> str:
        return self.asset.name if self.asset else "reference-image"


@dataclass
class Scene:
    design: Design
    size: tuple[int, int]
    palette: Palette
    background: str
    subjects: list[Chosen]
    layout: Layout
    decor: list[tuple[Asset, Spot]] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        """What was chosen, attached to the image as `info` so callers can report it."""
        return {
            "gazo.subjects": [chosen.name for chosen in self.subjects],
            "gazo.decor": sorted({asset.name for asset, _ in self.decor}),
            "gazo.background": self.background,
            "gazo.palette": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in self.palette.background],
            "gazo.styles": list(dict.fromkeys(self.design.styles)),
            "gazo.text": list(self.design.text),
        }


def choose_subjects(
    design: Design, library: AssetLibrary, rng: np.random.Generator, variation: int, *, fallback: bool = True
) -> list[Chosen]:
    """An icon for each subject that has one; variations after the first may take a near-equal one.

    With `fallback`, a prompt whose words name nothing is matched as a whole, as a last resort."""
    chosen: list[Chosen] = []
    for subject in design.subjects:
        matches = library.candidates(subject.phrase, japanese=subject.japanese)
        if not matches and " " in subject.phrase:  # "coffee shop": the best of its words
            per_word = [library.candidates(word)[:1] for word in subject.phrase.split()]
            matches = max(per_word, key=lambda found: found[0].score if found else 0.0)
        if not matches:
            continue
        close = [m for m in matches if m.score >= matches[0].score - NEAR_BEST]
        pick = close[0] if variation == 0 or len(close) == 1 else close[int(rng.integers(len(close)))]
        if all(pick.asset != c.asset for c in chosen):
            chosen.append(Chosen(pick.asset, subject.colour, subject.count))
    if fallback and not chosen and not (design.text or design.moods or design.colours or design.remove):
        matches = library.candidates(design.prompt, min_score=WHOLE_PROMPT_MIN)
        chosen = [Chosen(matches[0].asset, None, 1)] if matches else []
    return chosen


def plan_scene(
    design: Design,
    size: tuple[int, int],
    library: AssetLibrary,
    rng: np.random.Generator,
    *,
    variation: int = 0,
    transparent: bool = False,
    hero: bool = True,
    references: tuple[Image.Image, ...] = (),
) -> Scene:
    """Decide everything about one image of `design` at `size`; with `hero`, a mood's first prop stands
    in for a subject when the prompt names none ("a starry night" shows a moon)."""
    subjects = choose_subjects(design, library, rng, variation, fallback=hero)
    palette = choose_palette(design, rng, references)
    if hero and not subjects and palette.decor and not design.text:
        stand_in = library.by_name.get(palette.decor[0])
        subjects = [Chosen(stand_in, None, 1)] if stand_in else []
    instances = [i for i, chosen in enumerate(subjects) for _ in range(chosen.count)][:MAX_INSTANCES]
    layout = plan_layout(design, size, instances, rng)
    scene = Scene(design, size, palette, _background_kind(design, palette, rng), subjects, layout)
    if not transparent and not design.has("pattern") and not design.has("minimal"):
        scene.decor = _decor(scene, library, rng)
    return scene


def _background_kind(design: Design, palette: Palette, rng: np.random.Generator) -> str:
    if design.has("watercolor"):
        return "watercolor"
    if design.has("minimal") or (design.background_colour is not None and not design.moods):
        return "solid" if design.has("minimal") else str(rng.choice(["solid", "linear", "radial"]))
    if design.has("retro") or (design.has("poster") and not design.moods):
        return str(rng.choice(["sunburst", "paper", "stripes"]))
    if design.has("neon"):
        return str(rng.choice(["grid", "stars"]))
    if design.has("paper"):
        return "paper"
    return str(rng.choice(list(palette.backgrounds)))


def _decor(scene: Scene, library: AssetLibrary, rng: np.random.Generator) -> list[tuple[Asset, Spot]]:
    props = [library.by_name[name] for name in scene.palette.decor if name in library.by_name]
    props = [asset for asset in props if all(asset != c.asset for c in scene.subjects)]
    if not props:
        return []
    taken = [spot_box(spot) for spot in scene.layout.spots]
    if scene.layout.text_box:
        taken.append(scene.layout.text_box)
    spots = decor_spots(scene.size, taken, int(rng.integers(2, 5)), rng)
    return [(props[spot.subject % len(props)], spot) for spot in spots]
