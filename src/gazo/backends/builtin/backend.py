"""The built-in engine as a gazo backend: a design compositor, offline on a CPU in well under a second.

It is honest about what it is: no neural image model. It reads the prompt into a design, matches
subjects to Fluent Emoji icons by meaning, paints a procedural background, lays the picture out and
typesets quoted text exactly; edits fill masks with subjects, text, colour or a content-aware fill.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from PIL import Image
from pydantic import Field

from gazo.backends.base import BackendOptions, Capabilities, ImageBackend
from gazo.backends.builtin.assets import AssetLibrary
from gazo.backends.builtin.compose import STAGES, draw_stages
from gazo.backends.builtin.edit import plan_edit
from gazo.backends.builtin.prompt import Design, parse_prompt
from gazo.backends.builtin.scene import plan_scene
from gazo.backends.builtin.semantic import Embedder
from gazo.jobs import EditJob, Fidelity, GenerateJob, ProgressFn, Quality
from gazo.typography.fonts import Fonts

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "gazo built-in design compositor (not a diffusion model): Fluent Emoji icons matched by meaning "
    "with all-MiniLM-L6-v2, procedural backgrounds, Noto fonts"
)


class BuiltinOptions(BackendOptions):
    render_scale: dict[Quality, float] = Field(
        default_factory=lambda: dict[Quality, float]({"low": 0.5, "medium": 1.0, "high": 1.0}),
        description="Scale at which each quality is drawn before resizing to the asked size "
        "(low = half size, about 3x faster).",
    )
    restyle: dict[Fidelity, float] = Field(
        default_factory=lambda: dict[Fidelity, float]({"low": 0.35, "high": 0.0}),
        description="How far an unmasked edit pulls the image toward the prompt's colours or the "
        "references' palette, by `input_fidelity` (0 keeps its colours).",
    )
    decor: bool = Field(
        True, description="Scatter small props that match the mood (stars at night, leaves in autumn)."
    )
    max_side: int = Field(2048, ge=64, le=3840, description="Longest side this model renders.")


class BuiltinBackend(ImageBackend):
    """The offline default model: composes images from icons, backgrounds and type (see module doc)."""

    capabilities = Capabilities(
        edit=True,
        mask=True,
        max_input_images=16,
        partial_images=True,
        transparent_background=True,
        qualities=("low", "medium", "high"),
        text="native",
        references="placed+palette",
    )
    Options = BuiltinOptions
    options: BuiltinOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.library: AssetLibrary | None = None
        self.fonts: Fonts | None = None

    def configured_capabilities(self) -> Capabilities:
        side, declared = self.options.max_side, type(self).capabilities
        return declared.model_copy(
            update={"max_side": side, "max_pixels": min(declared.max_pixels, side * side)}
        )

    def describe(self) -> str:
        return DESCRIPTION

    def load(self, device: str | None) -> None:
        """Read the icon set, its vectors and the fonts, and get the process's shared embedding model
        (moderation's: loaded once per process, whoever asks first). Always on the CPU: `device` is
        ignored, since nothing here is a tensor program worth an accelerator."""
        started = time.perf_counter()
        self.library = AssetLibrary(Embedder(), cache_dir=self.context.cache_dir / "builtin")
        self.fonts = Fonts()
        self.library.embedder.query("warm up")
        logger.info(
            "model %s ready on cpu (int8 MiniLM embeddings, no diffusion model): %d icons in %.1f s",
            self.name,
            len(self.library.assets),
            time.perf_counter() - started,
        )

    def unload(self) -> None:
        self.library = self.fonts = None  # the embedding model stays: moderation shares it

    def memory_device(self) -> str:
        return "cpu"

    def generate(self, job: GenerateJob, progress: ProgressFn) -> list[Image.Image]:
        library, fonts = self._loaded()
        design = _design(job)
        scale = self.options.render_scale.get(job.quality, 1.0)
        size = (max(16, round(job.size.width * scale)), max(16, round(job.size.height * scale)))
        transparent = job.background == "transparent"

        def stages(index: int, rng: np.random.Generator) -> Iterator[Image.Image]:
            scene = plan_scene(design, size, library, rng, variation=index, transparent=transparent)
            if not self.options.decor:
                scene.decor = []
            return draw_stages(scene, library, fonts, rng, transparent=transparent)

        return self._run(job, stages, progress)

    def edit(self, job: EditJob, progress: ProgressFn) -> list[Image.Image]:
        library, fonts = self._loaded()
        design = _design(job)
        restyle = self.options.restyle[job.input_fidelity]
        transparent = job.background == "transparent"

        def stages(index: int, rng: np.random.Generator) -> Iterator[Image.Image]:
            scene, ground = plan_edit(job, design, library, rng, variation=index, restyle=restyle)
            return draw_stages(scene, library, fonts, rng, transparent=transparent, ground=ground)

        return self._run(job, stages, progress)

    def _run(
        self,
        job: GenerateJob,
        start: Callable[[int, np.random.Generator], Iterator[Image.Image]],
        progress: ProgressFn,
    ) -> list[Image.Image]:
        """Advance the `n` images stage by stage together, reporting each stage with real previews.

        Image `i` draws every random choice from a generator seeded with (seed, i, prompt): the same
        seed and prompt give the same pixels, and the images of one request differ.
        """
        seed = job.seed if job.seed is not None else secrets.randbelow(2**31)
        prompt = zlib.crc32(job.prompt.encode())  # one seed, different prompts: different looks
        runs = [start(index, np.random.default_rng([seed, index, prompt])) for index in range(job.n)]
        current: list[Image.Image] = []
        for step in range(1, len(STAGES) + 1):
            current = [next(run) for run in runs]
            snapshot = list(current)
            progress(step, len(STAGES), functools.partial(_copies_at_size, snapshot, job))
        return [_at_size(image, job) for image in current]

    def _loaded(self) -> tuple[AssetLibrary, Fonts]:
        if self.library is None or self.fonts is None:
            raise RuntimeError("BuiltinBackend.load() must run before the first job")
        return self.library, self.fonts


def _design(job: GenerateJob) -> Design:
    """The prompt read into a design; text sent as `text` joins the text the prompt quotes."""
    design = parse_prompt(job.prompt)
    design.text.extend(text for text in job.text if text not in design.text)
    return design


def _copies_at_size(images: list[Image.Image], job: GenerateJob) -> list[Image.Image]:
    """Previews of a stage: copies, since the stage's images are drawn on further."""
    return [_at_size(image.copy(), job) for image in images]


def _at_size(image: Image.Image, job: GenerateJob) -> Image.Image:
    """Exactly `job.size` (drawn smaller for quality `low`), keeping the chosen-assets `info`."""
    if image.size == (job.size.width, job.size.height):
        return image
    resized = image.resize((job.size.width, job.size.height), Image.Resampling.LANCZOS)
    resized.info.update(image.info)
    return resized
