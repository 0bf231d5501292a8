"""Calibration of the image check's thresholds on what can be made offline: open_nsfw scores per family.

    python bench/moderation_images.py [--per-family 24]

No real photograph can ship with gazo or be fetched here, explicit or not, so this measures only one
side of the trade: how high open_nsfw scores images that must pass. Families: flat colours and
gradients; noise; skin-tone fills and skin-tone blobs (soft ellipses in skin colours on a background,
the nearest a generator gets to "a lot of skin" without depicting anyone); art-like renders (blurred
brush strokes, warm palettes); medical- and sport-like synthetic scenes (a pink ribbon poster, an X-ray
grey, a pitch with players as blobs, a beach of sand and skin tones); and the built-in engine's own
outputs for tricky-safe prompts (what a default deployment actually returns). Recall on real explicit
images cannot be measured here: the thresholds keep Yahoo's guidance there (see `images.py`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gazo.moderation.images import ImageModerator, ImageThresholds

SKIN = ((255, 224, 189), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 51, 23))
SIZE = 512
Family = Callable[[np.random.Generator], Image.Image]


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = rng.integers(0, 256, 3)
    return int(r), int(g), int(b)


def flat(rng: np.random.Generator) -> Image.Image:
    return Image.new("RGB", (SIZE, SIZE), _colour(rng))


def gradient(rng: np.random.Generator) -> Image.Image:
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    t = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None, None]
    return Image.fromarray(np.broadcast_to(a + (b - a) * t, (SIZE, SIZE, 3)).astype(np.uint8))


def noise(rng: np.random.Generator) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def skin_fill(rng: np.random.Generator) -> Image.Image:
    base = np.array(SKIN[rng.integers(len(SKIN))], np.float32)
    pixels = base + rng.normal(0, 6, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))


def skin_blobs(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), _colour(rng))
    draw = ImageDraw.Draw(image)
    tone = SKIN[rng.integers(len(SKIN))]
    for _ in range(rng.integers(2, 6)):
        x, y = rng.integers(0, SIZE, 2)
        w, h = rng.integers(SIZE // 6, SIZE // 2, 2)
        shade = tuple(int(c * rng.uniform(0.85, 1.05)) for c in tone)
        draw.ellipse((x - w, y - h, x + w, y + h), fill=shade)
    return image.filter(ImageFilter.GaussianBlur(8))


def art(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), _colour(rng))
    draw = ImageDraw.Draw(image)
    warm = [SKIN[rng.integers(len(SKIN))], (200, 60, 40), (230, 180, 120), _colour(rng)]
    for _ in range(60):
        x0, y0 = rng.integers(0, SIZE, 2)
        x1, y1 = x0 + rng.integers(-120, 120), y0 + rng.integers(-120, 120)
        draw.line((x0, y0, x1, y1), fill=warm[rng.integers(len(warm))], width=int(rng.integers(6, 30)))
    return image.filter(ImageFilter.GaussianBlur(3))


def ribbon_poster(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (250, 245, 248))
    draw = ImageDraw.Draw(image)
    pink = (int(rng.integers(220, 256)), int(rng.integers(100, 170)), int(rng.integers(150, 200)))
    cx = SIZE // 2 + int(rng.integers(-40, 40))
    draw.ellipse((cx - 60, 80, cx + 60, 220), outline=pink, width=28)
    draw.line((cx - 30, 200, cx - 110, 420), fill=pink, width=30)
    draw.line((cx + 30, 200, cx + 110, 420), fill=pink, width=30)
    draw.rectangle((60, 450, SIZE - 60, 470), fill=(120, 40, 80))
    return image


def xray(rng: np.random.Generator) -> Image.Image:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    ribs = 0.5 + 0.5 * np.sin(y * rng.uniform(25, 40)) * np.exp(-((x - 0.5) ** 2) / 0.05)
    grey = np.clip(40 + 160 * ribs + rng.normal(0, 10, (SIZE, SIZE)), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB").filter(ImageFilter.GaussianBlur(2))


def pitch(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (40, int(rng.integers(120, 170)), 50))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        x, y = rng.integers(20, SIZE - 20, 2)
        kit = _colour(rng)
        draw.ellipse((x - 10, y - 40, x + 10, y - 20), fill=SKIN[rng.integers(len(SKIN))])
        draw.rectangle((x - 14, y - 20, x + 14, y + 20), fill=kit)
        draw.rectangle((x - 12, y + 20, x + 12, y + 50), fill=SKIN[rng.integers(len(SKIN))])
    return image


def beach(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (120, 180, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, SIZE // 2, SIZE, SIZE), fill=(230, 210, 160))
    for _ in range(int(rng.integers(2, 6))):
        x, y = int(rng.integers(40, SIZE - 40)), int(rng.integers(SIZE // 2, SIZE - 60))
        tone = SKIN[rng.integers(len(SKIN))]
        draw.ellipse((x - 25, y - 90, x + 25, y - 40), fill=tone)
        draw.rounded_rectangle((x - 35, y - 40, x + 35, y + 60), radius=20, fill=tone)
        draw.rectangle((x - 35, y + 10, x + 35, y + 30), fill=_colour(rng))  # a swimsuit band
    return image.filter(ImageFilter.GaussianBlur(1))


FAMILIES: dict[str, Family] = {
    "flat colour": flat,
    "gradient": gradient,
    "noise": noise,
    "skin-tone fill": skin_fill,
    "skin-tone blobs": skin_blobs,
    "art-like strokes": art,
    "pink-ribbon poster": ribbon_poster,
    "x-ray grey": xray,
    "sports pitch": pitch,
    "beach figures": beach,
}

#: Tricky-safe prompts for the built-in engine (it draws icons, text and backgrounds, never people).
ENGINE_PROMPTS = (
    "a breast cancer screening poster with a pink ribbon",
    "a chicken breast recipe card",
    "鶏むね肉のレシピ写真",
    "乳がん検診のポスター",
    "a summer beach party flyer with a swimsuit and sunscreen",
    "a boxing match poster",
    "a red rose on a skin-toned background",
    "an anatomy poster of the human heart",
)


def engine_outputs(count: int) -> Iterator[Image.Image]:
    """The built-in engine's renders of `ENGINE_PROMPTS` over several seeds."""
    from gazo.backends.base import BackendContext
    from gazo.backends.builtin import BuiltinBackend
    from gazo.jobs import GenerateJob, Size

    context = BackendContext(cache_dir=Path(tempfile.mkdtemp(prefix="gazo-bench-")))
    backend = BuiltinBackend("builtin", "builtin", BuiltinBackend.Options(), context)
    backend.load(None)
    for index in range(count):
        prompt = ENGINE_PROMPTS[index % len(ENGINE_PROMPTS)]
        size = Size.parse("512x512")
        job = GenerateJob(prompt=prompt, model="builtin", size=size, quality="medium", seed=index)
        yield backend.generate(job, lambda *_: None)[0]


def _row(name: str, scores: list[float], thresholds: ImageThresholds) -> str:
    scores = sorted(scores)
    p95 = scores[int(0.95 * (len(scores) - 1))]
    over_auto = sum(s >= thresholds.auto for s in scores)
    over_low = sum(s >= thresholds.low for s in scores)
    return (
        f"{name:20s} {len(scores):4d} {statistics.median(scores):8.3f} {p95:8.3f} {scores[-1]:8.3f}"
        f" {over_auto:>9d} {over_low:>9d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-family", type=int, default=24)
    args = parser.parse_args()
    thresholds = ImageThresholds()
    moderator = ImageModerator(thresholds)
    moderator.load()
    print(
        f"open_nsfw scores of images that must pass; thresholds auto {thresholds.auto}, low {thresholds.low}"
    )
    print(f"{'family':20s} {'n':>4s} {'median':>8s} {'p95':>8s} {'max':>8s} {'>= auto':>9s} {'>= low':>9s}")
    everything: list[float] = []
    for name, family in FAMILIES.items():
        rng = np.random.default_rng(list(name.encode()))
        scores = [moderator.score(family(rng)) for _ in range(args.per_family)]
        everything += scores
        print(_row(name, scores, thresholds))
    try:
        scores = [moderator.score(image) for image in engine_outputs(args.per_family)]
    except Exception as error:  # the engine's own dependencies may be missing in a slim install
        print(f"{'built-in engine':20s} skipped: {error}")
    else:
        everything += scores
        print(_row("built-in engine", scores, thresholds))
    print(_row("all", everything, thresholds))


if __name__ == "__main__":
    main()
