"""Any diffusers text-to-image pipeline as a gazo backend, with its image-to-image and inpainting siblings.

The text-to-image pipeline is loaded with the real ``from_pretrained``; the edit pipelines are derived
with ``AutoPipelineFor*.from_pipe`` so they share its weights (no second copy in memory). Every call
passes an explicit height and width and the result is checked, because several derived pipelines
silently return another size otherwise.
"""

from __future__ import annotations

import inspect
import logging
import math
import secrets
from typing import Any, Literal

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting
from PIL import Image
from pydantic import Field

from gazo import plugins
from gazo.backends.base import BackendOptions, Capabilities, ImageBackend
from gazo.backends.devices import best_device, resolve_dtype
from gazo.backends.hub import load_pipeline
from gazo.backends.previews import latent_factors, latents_to_images
from gazo.imaging import fit_to, steer_colours
from gazo.jobs import EditJob, GenerateJob, ProgressFn, Quality

logger = logging.getLogger(__name__)


class DiffusersOptions(BackendOptions):
    steps: dict[Quality, int] = Field(
        default_factory=lambda: {"low": 12, "medium": 25, "high": 40},
        description="Denoising steps per quality; qualities not listed are refused for this model.",
    )
    guidance_scale: float | None = Field(
        None, ge=0, description="Classifier-free guidance; default: the model's."
    )
    edit_strength: dict[Literal["low", "high"], float] = Field(
        default_factory=lambda: {"low": 0.8, "high": 0.55},
        description="Image-to-image strength by `input_fidelity` (lower keeps more of the input).",
    )
    inpaint_strength: float = Field(0.99, gt=0, le=1, description="Strength inside a mask.")
    reference_colour_weight: float = Field(
        0.5, ge=0, le=1, description="How far extra reference images pull the init image's colours."
    )
    max_side: int = Field(2048, ge=64, description="Longest side this model is allowed to render.")


class DiffusersBackend(ImageBackend):
    """A diffusers pipeline from a hub id or a local folder."""

    capabilities = Capabilities(edit=True, mask=True, max_input_images=16, partial_images=True)
    Options = DiffusersOptions
    options: DiffusersOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capabilities = self.capabilities.model_copy(
            update={
                "qualities": tuple(self.options.steps),
                "max_side": self.options.max_side,
                "max_pixels": min(self.capabilities.max_pixels, self.options.max_side**2),
            }
        )
        self.pipeline: Any = None
        self._image_to_image: Any = None
        self._inpainting: Any = None

    def describe(self) -> str:
        kind = type(self.pipeline).__name__ if self.pipeline is not None else "diffusers pipeline"
        return f"{kind} from {self.source}"

    def load(self, device: str | None) -> None:
        device = device or best_device()
        dtype = resolve_dtype(self.context.dtype, device)
        self.pipeline = load_pipeline(
            self.source, cache_dir=self.context.cache_dir, offline=self.context.offline, dtype=dtype
        ).to(device)
        self.pipeline.set_progress_bar_config(disable=True)
        self._image_to_image = _derive(AutoPipelineForImage2Image, self.pipeline)
        self._inpainting = _derive(AutoPipelineForInpainting, self.pipeline)
        self.capabilities = self.capabilities.model_copy(
            update={"edit": self._image_to_image is not None, "mask": self._inpainting is not None}
        )
        logger.info("loaded %s on %s (%s)", self.describe(), device, dtype)

    def generate(self, job: GenerateJob, progress: ProgressFn) -> list[Image.Image]:
        return self._run(self.pipeline, job, progress, {})

    def edit(self, job: EditJob, progress: ProgressFn) -> list[Image.Image]:
        init = fit_to(job.images[0].convert("RGB"), job.size)
        if len(job.images) > 1:
            init = steer_colours(init, job.images[1:], self.options.reference_colour_weight)
        if job.mask is not None and self._inpainting is not None:
            extra = {"image": init, "mask_image": job.mask, "strength": self.options.inpaint_strength}
            return self._run(self._inpainting, job, progress, extra)
        strength = self.options.edit_strength[job.input_fidelity]
        return self._run(self._image_to_image, job, progress, {"image": init, "strength": strength})

    def _run(
        self, pipeline: Any, job: GenerateJob, progress: ProgressFn, extra: dict[str, Any]
    ) -> list[Image.Image]:
        steps = self.options.steps[job.quality]
        strength = extra.get("strength")
        if strength is not None:  # img2img runs int(steps * strength) steps: keep at least one
            steps = max(steps, math.ceil(1 / strength))
        seed = job.seed if job.seed is not None else secrets.randbelow(2**31)
        kwargs: dict[str, Any] = {
            "prompt": job.prompt,
            "num_inference_steps": steps,
            "num_images_per_prompt": job.n,
            "generator": [torch.Generator("cpu").manual_seed(seed + index) for index in range(job.n)],
            "callback_on_step_end": self._step_callback(job, progress),
            "callback_on_step_end_tensor_inputs": ["latents"],
            **extra,
        }
        accepted = inspect.signature(pipeline.__call__).parameters
        if "height" in accepted:
            kwargs.update(height=job.size.height, width=job.size.width)
        if self.options.guidance_scale is not None:
            kwargs["guidance_scale"] = self.options.guidance_scale
        with torch.inference_mode():
            images = pipeline(**kwargs).images
        return [fit_to(image, job.size) for image in images]

    def _step_callback(self, job: GenerateJob, progress: ProgressFn) -> Any:
        size = (job.size.width, job.size.height)

        def on_step_end(pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            latents = tensors["latents"]
            total = getattr(pipeline, "num_timesteps", None) or step + 1
            progress(step + 1, total, lambda: self._previews(pipeline, latents, size))
            return tensors

        return on_step_end

    def _previews(self, pipeline: Any, latents: torch.Tensor, size: tuple[int, int]) -> list[Image.Image]:
        if latents.ndim == 3 and hasattr(pipeline, "_unpack_latents"):  # FLUX packs 2x2 patches
            latents = pipeline._unpack_latents(latents, size[1], size[0], pipeline.vae_scale_factor)
        return latents_to_images(latents, latent_factors(type(pipeline).__name__, latents.shape[1]), size)


def _derive(auto_class: Any, pipeline: Any) -> Any:
    try:
        derived = auto_class.from_pipe(pipeline)
    except (ValueError, KeyError, TypeError) as error:
        logger.info("%s has no %s sibling: %s", type(pipeline).__name__, auto_class.__name__, error)
        return None
    derived.set_progress_bar_config(disable=True)
    return derived


@plugins.hookimpl
def register_backends(register: plugins.RegisterBackend) -> None:
    register("diffusers", DiffusersBackend)
