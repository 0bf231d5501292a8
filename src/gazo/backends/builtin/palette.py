"""Colours for a design: from colour words, a mood, reference images, or a seeded default; plus contrast.

The named colour wins over everything (a prompt that says "blue background" gets a blue picture),
then moods, then references; each variation moves the palette a little so `n` images differ
without drifting from what was asked.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gazo.backends.builtin.lexicon import RGB
from gazo.backends.builtin.prompt import Design, shade
from gazo.typography.colour import luminance


def hex_rgb(code: str) -> RGB:
    return int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16)


@dataclass(frozen=True)
class Mood:
    """What a mood or scene does to the picture: its colours, its background, small props around."""

    colours: tuple[str, ...]
    backgrounds: tuple[str, ...] = ("linear", "radial")
    decor: tuple[str, ...] = ()
    dark: bool = False


MOODS: dict[str, Mood] = {
    "sunset": Mood(("#ff7e5f", "#feb47b", "#8e3b8a", "#ff5e62"), ("linear", "hills"), ()),
    "night": Mood(("#0b1d3a", "#1c2f5e", "#3a4f8a", "#f5d76e"), ("stars",), ("crescent-moon",), True),
    "space": Mood(("#0a0a23", "#2a1b5e", "#5b2a86", "#e0c3fc"), ("stars",), ("ringed-planet", "comet"), True),
    "ocean": Mood(("#0077b6", "#00b4d8", "#90e0ef", "#caf0f8"), ("waves",), ("tropical-fish", "shell")),
    "forest": Mood(
        ("#2d6a4f", "#52b788", "#95d5b2", "#d8f3dc"), ("hills",), ("evergreen-tree", "deciduous-tree")
    ),
    "meadow": Mood(("#a8dadc", "#dff3e4", "#95d5b2", "#52b788"), ("hills",), ("herb", "blossom")),
    "winter": Mood(("#dbeafe", "#bae6fd", "#7dd3fc", "#ffffff"), ("snow",), ("snowflake",)),
    "spring": Mood(("#ffd6e0", "#ffe5ec", "#b7e4c7", "#fff0f3"), ("radial", "bokeh"), ("cherry-blossom",)),
    "summer": Mood(("#ffd166", "#06d6a0", "#118ab2", "#fff3b0"), ("sunburst", "linear"), ("sun",)),
    "autumn": Mood(
        ("#d35400", "#e67e22", "#a04000", "#f6ddcc"), ("linear", "paper"), ("maple-leaf", "fallen-leaf")
    ),
    "halloween": Mood(("#ff7518", "#1a1a1a", "#6b2d5c", "#ffb347"), ("radial",), ("bat", "spider-web"), True),
    "christmas": Mood(("#b91c1c", "#1e7b45", "#f4f1de", "#d4af37"), ("snow", "dots"), ("snowflake", "star")),
    "party": Mood(
        ("#ff006e", "#fb5607", "#ffbe0b", "#3a86ff", "#8338ec"), ("confetti",), ("balloon", "party-popper")
    ),
    "cheerful": Mood(("#ffbe0b", "#fb5607", "#ff006e", "#3a86ff"), ("sunburst", "dots"), ("sparkles",)),
    "calm": Mood(("#a8dadc", "#457b9d", "#f1faee", "#e6f0f3"), ("linear", "clouds")),
    "love": Mood(
        ("#ff8fab", "#ffb3c6", "#fb6f92", "#ffe5ec"), ("radial", "bokeh"), ("red-heart", "sparkling-heart")
    ),
    "sky": Mood(("#5aa9f0", "#a3d8ff", "#dff3ff", "#ffffff"), ("clouds",), ("cloud",)),
    "desert": Mood(("#e9c46a", "#f4a261", "#e76f51", "#fff1d0"), ("hills",), ("cactus",)),
    "city": Mood(("#2b2d42", "#8d99ae", "#edf2f4", "#ef233c"), ("linear", "grid"), ("cityscape",)),
    "rain": Mood(("#5c6b7a", "#8fa3b5", "#c9d6df", "#eef2f5"), ("clouds",), ("droplet", "umbrella")),
    "dreamy": Mood(("#cdb4db", "#ffc8dd", "#bde0fe", "#a2d2ff"), ("bokeh", "clouds"), ("sparkles",)),
    "elegant": Mood(("#1b1b1b", "#3d3d3d", "#d4af37", "#f5f0e1"), ("radial", "paper"), (), True),
    "sale": Mood(("#e63946", "#ffd60a", "#1d3557", "#ffffff"), ("sunburst",), ()),
    "tech": Mood(("#0f172a", "#1e40af", "#22d3ee", "#a78bfa"), ("grid",), (), True),
}
#: Pleasant defaults when the prompt names no colour and no mood.
DEFAULTS: tuple[tuple[str, ...], ...] = (
    ("#a0c4ff", "#bdb2ff", "#ffc6ff", "#fffffc"),
    ("#ffd6a5", "#fdffb6", "#caffbf", "#9bf6ff"),
    ("#f4f1de", "#e07a5f", "#3d405b", "#81b29a"),
    ("#edf6f9", "#83c5be", "#006d77", "#ffddd2"),
    ("#fefae0", "#dda15e", "#bc6c25", "#606c38"),
    ("#e0fbfc", "#98c1d9", "#3d5a80", "#ee6c4d"),
    ("#fff1e6", "#fde2e4", "#e2ece9", "#bee1e6"),
    ("#caf0f8", "#ade8f4", "#ffafcc", "#fefae0"),
)
_DEFAULT_BACKGROUNDS = ("linear", "radial", "clouds", "bokeh", "dots", "paper", "sunburst", "stripes")


@dataclass(frozen=True)
class Palette:
    """Background colours (light to dark order is not implied), an accent, and whether it reads as dark."""

    background: tuple[RGB, ...]
    accent: RGB
    dark: bool
    backgrounds: tuple[str, ...]
    decor: tuple[str, ...]


def choose_palette(
    design: Design, rng: np.random.Generator, references: tuple[Image.Image, ...] = ()
) -> Palette:
    """The palette of one variation of `design`."""
    mood = MOODS[design.moods[0]] if design.moods else None
    kinds = mood.backgrounds if mood else _DEFAULT_BACKGROUNDS
    decor = tuple(d for m in design.moods for d in MOODS[m].decor)
    if design.background_colour is not None:
        base = design.background_colour
        colours = [base, shade(base, 0.12), shade(base, -0.12)]
    elif design.colours and not any(s.colour for s in design.subjects):
        colours = [
            design.colours[0],
            *(shade(c, 0.1) for c in design.colours[1:]),
            shade(design.colours[0], 0.2),
        ]
    elif mood is not None:
        colours = [hex_rgb(c) for c in mood.colours]
    elif references:
        colours = reference_colours(references)
    else:
        colours = [hex_rgb(c) for c in DEFAULTS[int(rng.integers(len(DEFAULTS)))]]
    colours = [_jitter(c, rng) for c in colours]
    if design.has("pastel"):
        colours = [shade(c, 0.45) for c in colours]
    if design.has("neon") and design.background_colour is None:
        colours = [(12, 10, 30), (28, 16, 60), *colours]
    dark = luminance(colours[0]) < 0.35
    accent = max(colours, key=lambda c: _saturation(c) + 0.3 * abs(luminance(c) - luminance(colours[0])))
    return Palette(tuple(colours), accent, dark, kinds, decor)


def reference_colours(references: tuple[Image.Image, ...], count: int = 4) -> list[RGB]:
    """The dominant colours of the reference images, most common first."""
    pooled = Image.new("RGB", (64 * len(references), 64))
    for index, reference in enumerate(references):
        pooled.paste(reference.convert("RGB").resize((64, 64)), (64 * index, 0))
    quantised = pooled.quantize(count, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    counts = sorted(quantised.getcolors() or [], reverse=True)
    # a "P" image counts palette indices
    starts = [3 * index for _, index in counts if isinstance(index, int)]
    return [(palette[start], palette[start + 1], palette[start + 2]) for start in starts]


def _saturation(rgb: RGB) -> float:
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[1]


def _jitter(rgb: RGB, rng: np.random.Generator) -> RGB:
    """A small seeded hue and lightness move: variations differ, colour names still hold."""
    h, light, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    h = (h + rng.uniform(-0.02, 0.02)) % 1.0
    light = min(1.0, max(0.0, light + rng.uniform(-0.05, 0.05)))
    red, green, blue = colorsys.hls_to_rgb(h, light, s)
    return round(red * 255), round(green * 255), round(blue * 255)
