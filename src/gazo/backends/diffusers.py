"""Any diffusers text-to-image pipeline as a gazo backend, with its image-to-image and inpainting siblings.

The text-to-image pipeline is loaded with the real ``from_pretrained``; the edit pipelines are derived
with ``AutoPipelineFor*.from_pipe`` so they share its weights (no second copy in memory). Every call
passes an explicit height and width and the result is checked, because several derived pipelines
silently return another size otherwise.
"""

from __future__ import annotations

import gc
import inspect
import logging
import math
import secrets
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any, Literal

import torch
from PIL import Image
from pydantic import Field

from gazo import plugins
from gazo.backends.adapters import LoadedAdapters, adapter_bytes
from gazo.backends.base import BackendOptions, Capabilities, ImageBackend, ReferenceMode
from gazo.backends.compiled import CompiledDenoiser
from gazo.backends.devices import best_device, module_bytes, resolve_dtype
from gazo.backends.footprint import estimate_source_bytes
from gazo.backends.hub import load_pipeline
from gazo.backends.previews import latent_factors, latents_to_images
from gazo.backends.references import IPAdapter, IPAdapterSpec, NativeStyle, native_input, native_style
from gazo.errors import Cancelled
from gazo.imaging import fit_to, steer_colours
from gazo.jobs import EditJob, Fidelity, GenerateJob, ProgressFn, Quality, Size
from gazo.typography.fonts import shared_fonts
from gazo.typography.overlay import letter
from gazo.typography.quotes import without_quoted

logger = logging.getLogger(__name__)

#: Images per forward pass unless the model's options say otherwise (see `DiffusersBackend.batch_limit`).
CPU_BATCH_IMAGES, ACCELERATOR_BATCH_IMAGES = 4, 8
#: From this much memory on, an accelerator decodes a whole batch at once: a VAE decode's activations
#: grow with the batch's pixels, so smaller cards slice (unmeasured where exactly the line falls).
LARGE_ACCELERATOR_BYTES = 32 * 2**30
#: One model reads its weights at a time: diffusers and accelerate build modules on the meta device
#: under a process-wide patch, so two loads side by side (two models starting) can leave each other's
#: parameters on it ("Cannot copy out of meta tensor").
_READING_WEIGHTS = threading.Lock()


class DiffusersOptions(BackendOptions):
    steps: dict[Quality, int] = Field(
        default_factory=lambda: dict[Quality, int]({"low": 12, "medium": 25, "high": 40}),
        description="Denoising steps per quality; qualities not listed are refused for this model.",
    )
    guidance_scale: float | None = Field(
        None, ge=0, description="Classifier-free guidance; default: the model's."
    )
    edit_strength: dict[Fidelity, float] = Field(
        default_factory=lambda: dict[Fidelity, float]({"low": 0.8, "high": 0.55}),
        description="Image-to-image strength by `input_fidelity` (lower keeps more of the input).",
    )
    inpaint_strength: float = Field(0.99, gt=0, le=1, description="Strength inside a mask.")
    text_strength: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Strength of the pass that blends typeset text into the picture around it "
        "(the letters themselves never change).",
    )
    reference_colour_weight: float = Field(
        0.5, ge=0, le=1, description="How far extra reference images pull the init image's colours."
    )
    ip_adapter: IPAdapterSpec | None = Field(
        None,
        description="An IP-Adapter that receives an edit's reference images (SD 1.x, SDXL); without one, "
        "references steer the init image's colours.",
    )
    max_side: int = Field(2048, ge=64, description="Longest side this model is allowed to render.")
    channels_last: bool = Field(
        False, description="Store the denoiser in channels-last memory format (GPUs)."
    )
    vae_slicing: bool | None = Field(
        None,
        description="Decode a batch one image at a time. Default: on a CPU, where it keeps the decode of "
        "n>1 images linear, and on accelerators under 32 GiB; off on larger ones, where one batched "
        "decode is faster and fits.",
    )
    vae_tiling: bool = Field(
        False, description="Decode large images in tiles (less memory, slightly slower)."
    )
    compile: bool = Field(
        False,
        description="`torch.compile` the denoiser: one static graph per size and batch, compiled in the "
        "background while that shape runs eager, so no request waits for a compile (opt-in).",
    )
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = Field(
        "default",
        description="`torch.compile` mode; `reduce-overhead` and `max-autotune` also capture CUDA graphs.",
    )
    compile_backend: str = Field(
        "inductor", description="`torch.compile` backend (`eager` tests the plumbing without a compiler)."
    )
    compile_sizes: list[str] = Field(
        default_factory=list,
        description="Sizes (`WIDTHxHEIGHT`) whose graphs are compiled from load on; default: `default_size`. "
        "Other sizes compile on first use.",
    )
    compile_batches: list[int] = Field(
        default_factory=list,
        description="Images per batch whose graphs are compiled from load on; default: 1 and the batch "
        "limit. Other batch sizes compile on first use.",
    )
    compile_max_buckets: int = Field(
        16, ge=1, le=256, description="Most graphs (size x batch) compiled; further shapes stay eager."
    )
    cpu_offload: Literal["none", "model", "sequential"] = Field(
        "none", description="Offload idle components to the CPU, for GPUs too small for the model."
    )
    torch_threads: int | None = Field(
        None, ge=1, description="CPU threads torch may use; default: torch's own."
    )


class DiffusersBackend(ImageBackend):
    """A diffusers pipeline from a hub id or a local folder."""

    capabilities = Capabilities(edit=True, mask=True, max_input_images=16, partial_images=True)
    # Which siblings (image-to-image, inpainting) and editing style a pipeline has is known only once
    # it is loaded; the rest follows from the options.
    decided_at_load = frozenset({"edit", "mask", "text", "references"})
    Options = DiffusersOptions
    accepts_adapters = True
    options: DiffusersOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device: str | None = None
        self.pipeline: Any = None
        self._image_to_image: Any = None
        self._inpainting: Any = None
        self._native: NativeStyle | None = None  # the pipeline itself edits, taking the references
        self._ip_adapter: IPAdapter | None = None
        self._adapters: LoadedAdapters | None = None  # LoRA adapters, loaded beside the weights
        self.compiled: CompiledDenoiser | None = None
        self._estimate: int | None = None  # `estimate_bytes`, read from the files once

    def configured_capabilities(self) -> Capabilities:
        declared = type(self).capabilities
        return declared.model_copy(
            update={
                "qualities": tuple(self.options.steps),
                "max_side": self.options.max_side,
                "max_pixels": min(declared.max_pixels, self.options.max_side**2),
            }
        )

    def describe(self) -> str:
        kind = type(self.pipeline).__name__ if self.pipeline is not None else "diffusers pipeline"
        return f"{kind} from {self.source}"

    def load(self, device: str | None) -> None:
        device = self.device = device or best_device()
        dtype = resolve_dtype(self.context.dtype, device)
        if self.options.torch_threads:
            torch.set_num_threads(self.options.torch_threads)
        with _READING_WEIGHTS:
            self.pipeline = load_pipeline(
                self.source, cache_dir=self.context.cache_dir, offline=self.context.offline, dtype=dtype
            )
            self._adapters = LoadedAdapters(
                self.pipeline,
                self.context.adapters,
                cache_dir=self.context.cache_dir,
                offline=self.context.offline,
            )
            if self.options.ip_adapter is not None:
                self._ip_adapter = IPAdapter(self.pipeline, self.options.ip_adapter, self.context)
        self._place(device)
        self.pipeline.set_progress_bar_config(disable=True)
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting  # seconds to import

        self._image_to_image = _derive(AutoPipelineForImage2Image, self.pipeline)
        self._inpainting = _derive(AutoPipelineForInpainting, self.pipeline)
        self._native = native_style(self.pipeline)
        shared_fonts()  # read the fonts' character maps now rather than during the first text job
        if self.compiled is not None:
            self._queue_compiles()
        self.settle(
            edit=self._image_to_image is not None or self._native is not None,
            mask=self._inpainting is not None,
            text="typeset+harmonise" if self._image_to_image is not None else "typeset",
            references=_reference_mode(self._native, self._ip_adapter),
        )
        logger.info("loaded %s on %s (%s)", self.describe(), device, dtype)

    def unload(self) -> None:
        """Drop every reference to the weights (the siblings and IP-Adapter share them) and give the
        cached blocks back to the device, so another model can take the memory at once."""
        if self.compiled is not None:
            self.compiled.close()
        self.pipeline = self._image_to_image = self._inpainting = None
        self._native, self._ip_adapter, self.compiled = None, None, None
        self._adapters = None
        gc.collect()
        if self.device is not None and self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def estimate_bytes(self) -> int:
        if self._estimate is None:
            dtype = resolve_dtype(self.context.dtype, self.memory_device())
            float_bytes = torch.empty((), dtype=dtype).element_size()
            weights = estimate_source_bytes(self.source, self.context.cache_dir, float_bytes)
            adapters = sum(adapter_bytes(spec) for spec in self.context.adapters)
            self._estimate = weights + adapters if weights else None  # unknown until its files are here
        return self._estimate or 0

    def resident_bytes(self) -> int:
        if self.pipeline is None:
            return 0
        return module_bytes(self.pipeline.components.values())

    def batch_key(self, job: GenerateJob) -> Hashable | None:
        return ("generate", job.size, job.quality, job.adapters) if type(job) is GenerateJob else None

    def batch_limit(self) -> int:
        """Measured with bench/serve.py on a 2-core CPU: batches of up to 4 gave 1.58x the images/s of
        single images at concurrency 16 on the tiny model (per-step overhead shared) and 1.12x at
        concurrency 4 on SD 1.x widths (compute-bound, so little to gain but nothing lost); no latency
        cost, since only jobs already queued join a batch. Accelerators have idle cores for more."""
        if self.options.max_batch_images:
            return self.options.max_batch_images
        return CPU_BATCH_IMAGES if self.device in (None, "cpu") else ACCELERATOR_BATCH_IMAGES

    def _place(self, device: str) -> None:
        """Move the pipeline to `device` with the configured efficiency options."""
        options, pipeline = self.options, self.pipeline
        if options.cpu_offload == "model":
            pipeline.enable_model_cpu_offload(device=device)
        elif options.cpu_offload == "sequential":
            pipeline.enable_sequential_cpu_offload(device=device)
        else:
            pipeline.to(device)
        denoiser = getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)
        vae = getattr(pipeline, "vae", None)
        if options.channels_last and denoiser is not None:
            denoiser.to(memory_format=torch.channels_last)
        if vae is not None:
            (vae.enable_slicing if self._slice_decodes(device) else vae.disable_slicing)()
            (vae.enable_tiling if options.vae_tiling else vae.disable_tiling)()
        if options.compile and denoiser is not None:
            self.compiled = CompiledDenoiser(
                denoiser,
                mode=None if options.compile_mode == "default" else options.compile_mode,
                backend=options.compile_backend,
                max_buckets=options.compile_max_buckets,
            )

    def _slice_decodes(self, device: str) -> bool:
        if self.options.vae_slicing is not None:
            return self.options.vae_slicing
        if not device.startswith("cuda"):
            return True
        return torch.cuda.get_device_properties(torch.device(device)).total_memory < LARGE_ACCELERATOR_BYTES

    def _queue_compiles(self) -> None:
        """One eager run per named bucket hands its denoiser call to the compile thread; serving starts
        at once and each bucket switches to its graph when ready."""
        options = self.options
        quality = next(iter(options.steps))
        for size in options.compile_sizes or [options.default_size]:
            for images in options.compile_batches or sorted({1, self.batch_limit()}):
                warm_up = GenerateJob(
                    prompt="warm-up", model=self.name, size=Size.parse(size), quality=quality, n=images
                )
                self.generate(warm_up, lambda *_: None)

    def generate(self, job: GenerateJob, progress: ProgressFn) -> list[Image.Image]:
        return self.generate_batch([job], [progress])[0]

    def generate_batch(self, jobs: list[GenerateJob], progress: list[ProgressFn]) -> list[list[Image.Image]]:
        tracked = [_LastStep(report) for report in progress]
        results = self._run(self.pipeline, jobs, tracked, {})
        return [
            self._set_text(job, images, report.hold)
            for job, images, report in zip(jobs, results, tracked, strict=True)
        ]

    def edit(self, job: EditJob, progress: ProgressFn) -> list[Image.Image]:
        tracked = _LastStep(progress)
        if self._native is not None and job.mask is None:
            extra: dict[str, Any] = {"image": native_input(job, self._native)}
            return self._set_text(job, self._run(self.pipeline, [job], [tracked], extra)[0], tracked.hold)
        init = fit_to(job.images[0].convert("RGB"), job.size)
        if len(job.images) > 1 and self._ip_adapter is None:
            init = steer_colours(init, job.images[1:], self.options.reference_colour_weight)
        if job.mask is not None and self._inpainting is not None:
            extra = {"image": init, "mask_image": job.mask, "strength": self.options.inpaint_strength}
            images = self._run(self._inpainting, [job], [tracked], extra)[0]
        else:
            extra = {"image": init, "strength": self.options.edit_strength[job.input_fidelity]}
            images = self._run(self._image_to_image, [job], [tracked], extra)[0]
        return self._set_text(job, images, tracked.hold)

    def _set_text(
        self, job: GenerateJob, images: list[Image.Image], progress: ProgressFn
    ) -> list[Image.Image]:
        """Typeset `job.text` exactly, then a low-strength pass of the model around it (never on it)."""
        if not job.text or not images:
            return images

        def harmonise(crops: list[Image.Image]) -> list[Image.Image]:
            part = replace(job, n=len(crops), size=Size(*crops[0].size))
            extra = {"image": crops, "strength": self.options.text_strength}
            return self._run(self._image_to_image, [part], [progress], extra)[0]

        within = job.mask if isinstance(job, EditJob) else None
        repaint = harmonise if self._image_to_image is not None else None
        return letter(images, list(job.text), shared_fonts(), within=within, harmonise=repaint)

    def _run(
        self, pipeline: Any, jobs: list[GenerateJob], progress: Sequence[ProgressFn], extra: dict[str, Any]
    ) -> list[list[Image.Image]]:
        """One pipeline call for every image of `jobs` (same size and steps): prompts repeated `n` times,
        one generator per image seeded `seed + index`, so a job's images do not depend on its batch."""
        first = jobs[0]
        steps = self.options.steps[first.quality]
        strength = extra.get("strength")
        if strength is not None:  # img2img runs int(steps * strength) steps: keep at least one
            steps = max(steps, math.ceil(1 / strength))
        seeds = [job.seed if job.seed is not None else secrets.randbelow(2**31) for job in jobs]
        kwargs: dict[str, Any] = {
            "prompt": [without_quoted(job.prompt, job.text) for job in jobs for _ in range(job.n)],
            "num_inference_steps": steps,
            "num_images_per_prompt": 1,
            "generator": [
                torch.Generator("cpu").manual_seed(seed + index)
                for job, seed in zip(jobs, seeds, strict=True)
                for index in range(job.n)
            ],
            "callback_on_step_end": _StepReporter(self, jobs, progress),
            "callback_on_step_end_tensor_inputs": ["latents"],
            **extra,
        }
        accepted = inspect.signature(pipeline.__call__).parameters
        if "height" in accepted:
            kwargs.update(height=first.size.height, width=first.size.width)
        if "max_area" in accepted:  # Kontext would otherwise scale the output up to its own area
            kwargs["max_area"] = first.size.pixels
        if self.options.guidance_scale is not None:
            kwargs["guidance_scale"] = self.options.guidance_scale
        if self._ip_adapter is not None:
            kwargs.update(self._ip_adapter.inputs(first))
        if self._adapters is not None:  # a pass's jobs share their adapters (`batch_key`)
            self._adapters.apply(first.adapters)
        with torch.inference_mode():
            images = [fit_to(image, first.size) for image in pipeline(**kwargs).images]
        results, offset = [], 0
        for job in jobs:
            results.append(images[offset : offset + job.n])
            offset += job.n
        return results

    def previews(self, pipeline: Any, latents: torch.Tensor, size: tuple[int, int]) -> list[Image.Image]:
        if latents.ndim == 3 and hasattr(pipeline, "_unpack_latents"):  # FLUX packs 2x2 patches
            latents = pipeline._unpack_latents(latents, size[1], size[0], pipeline.vae_scale_factor)
        return latents_to_images(latents, latent_factors(type(pipeline).__name__, latents.shape[1]), size)


class _LastStep:
    """Passes progress on and remembers the last step, so that a follow-up pass can hold the bar there."""

    def __init__(self, progress: ProgressFn) -> None:
        self.progress, self.step, self.total = progress, 0, 0

    def __call__(self, step: int, total: int, make_previews: Callable[[], list[Image.Image]]) -> None:
        self.step, self.total = step, total
        self.progress(step, total, make_previews)

    def hold(self, step: int, total: int, make_previews: Callable[[], list[Image.Image]]) -> None:
        """A step of a follow-up pass: the last step again, without previews (still cancellable)."""
        self.progress(self.step, self.total, list)


class _StepReporter:
    """The pipeline's step callback: tells every job of the batch, dropping those whose client left."""

    def __init__(
        self, backend: DiffusersBackend, jobs: list[GenerateJob], progress: Sequence[ProgressFn]
    ) -> None:
        self.backend, self.jobs, self.progress = backend, jobs, progress
        self.cancelled = [False] * len(jobs)

    def __call__(self, pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        latents = tensors["latents"]
        total = getattr(pipeline, "num_timesteps", None) or step + 1
        size = (self.jobs[0].size.width, self.jobs[0].size.height)
        previews: list[Image.Image] = []

        def slice_for(index: int) -> Callable[[], list[Image.Image]]:
            def make() -> list[Image.Image]:
                if not previews:
                    previews.extend(self.backend.previews(pipeline, latents, size))
                start = sum(job.n for job in self.jobs[:index])
                return previews[start : start + self.jobs[index].n]

            return make

        for index, report in enumerate(self.progress):
            if self.cancelled[index]:
                continue
            try:
                report(step + 1, total, slice_for(index))
            except Cancelled:
                self.cancelled[index] = True
        if all(self.cancelled):
            raise Cancelled()
        return tensors


def _reference_mode(native: NativeStyle | None, ip_adapter: IPAdapter | None) -> ReferenceMode:
    return "native" if native else "ip-adapter" if ip_adapter else "init+colour"


def _derive(auto_class: Any, pipeline: Any) -> Any:
    try:
        derived = auto_class.from_pipe(pipeline)
    except (ValueError, KeyError, TypeError) as error:
        logger.info("%s has no %s sibling: %s", type(pipeline).__name__, auto_class.__name__, error)
        return None
    if "strength" not in inspect.signature(derived.__call__).parameters:  # an editing pipeline (Kontext)
        logger.info("%s has no %s sibling with a strength", type(pipeline).__name__, auto_class.__name__)
        return None
    derived.set_progress_bar_config(disable=True)
    return derived


@plugins.hookimpl
def register_backends(register: plugins.RegisterBackend) -> None:
    register("diffusers", DiffusersBackend)
