"""How a diffusers pipeline takes an edit's reference images (every image after the first).

Pipelines built to edit from several images take them as they are (Qwen-Image-Edit Plus: a list);
FLUX.1 Kontext and the first Qwen-Image-Edit take one conditioning image, so the references are laid
beside the edited image in it, the way Kontext is prompted with several images. A UNet pipeline with an
IP-Adapter configured gets them through the adapter. Other pipelines use the first image as the init
image and let the references steer its colours (`gazo.imaging.steer_colours`).
"""

from __future__ import annotations

from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from gazo.backends.base import BackendContext
from gazo.imaging import fit_to
from gazo.jobs import EditJob, GenerateJob

NativeStyle = Literal["list", "side-by-side"]

#: Pipeline classes that take reference images themselves, and how.
NATIVE_REFERENCES: dict[str, NativeStyle] = {
    "QwenImageEditPlusPipeline": "list",
    "QwenImageEditPipeline": "side-by-side",
    "FluxKontextPipeline": "side-by-side",
}


def native_style(pipeline: Any) -> NativeStyle | None:
    """How `pipeline` takes an edit's images natively, or None when it is not an editing pipeline."""
    return NATIVE_REFERENCES.get(type(pipeline).__name__)


def native_input(job: EditJob, style: NativeStyle) -> Image.Image | list[Image.Image]:
    """The `image` argument for a native editing pipeline: the edited image at the output size, then
    each reference (as a list, or side by side at the same height in one image)."""
    first = fit_to(job.images[0].convert("RGB"), job.size)
    references = [image.convert("RGB") for image in job.images[1:]]
    if style == "list":
        return [first, *references]
    return side_by_side([first, *references])


def side_by_side(images: list[Image.Image]) -> Image.Image:
    """`images` scaled to the first one's height, left to right, on one canvas of the first one's area."""
    height = images[0].height
    scaled = [
        image.resize((max(1, round(image.width * height / image.height)), height), Image.Resampling.LANCZOS)
        for image in images
    ]
    canvas = Image.new("RGB", (sum(image.width for image in scaled), height))
    x = 0
    for image in scaled:
        canvas.paste(image, (x, 0))
        x += image.width
    scale = (images[0].width * height / (canvas.width * height)) ** 0.5  # keep the model's working area
    return canvas.resize((max(16, round(canvas.width * scale)), max(16, round(height * scale))))


class IPAdapterSpec(BaseModel):
    """An IP-Adapter that receives an edit's reference images (UNet pipelines: SD 1.x, SDXL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Hub id or local folder holding the adapter weights.")
    weight_name: str = Field(description="The weight file, e.g. ip-adapter_sd15.safetensors.")
    subfolder: str = Field("", description="Folder of the weight file inside `source` (e.g. models).")
    image_encoder_folder: str = Field(
        "image_encoder", description="The CLIP image encoder's folder, relative to `subfolder`."
    )
    scale: float = Field(0.6, ge=0, le=2, description="How strongly the references steer the result.")


class IPAdapter:
    """A loaded IP-Adapter: references go in as `ip_adapter_image`; calls without any get a blank image
    at scale 0 (a pipeline with an adapter loaded refuses calls without an image for it)."""

    def __init__(self, pipeline: Any, spec: IPAdapterSpec, context: BackendContext) -> None:
        pipeline.load_ip_adapter(
            spec.source,
            subfolder=spec.subfolder,
            weight_name=spec.weight_name,
            image_encoder_folder=spec.image_encoder_folder,
            cache_dir=context.cache_dir,
            local_files_only=context.offline,
        )
        self.pipeline, self.spec = pipeline, spec
        self._blank = Image.new("RGB", (64, 64), (127, 127, 127))

    def inputs(self, job: GenerateJob) -> dict[str, Any]:
        """The pipeline arguments for `job`'s references (none: a blank image that weighs nothing)."""
        references = [image.convert("RGB") for image in job.images[1:]] if isinstance(job, EditJob) else []
        self.pipeline.set_ip_adapter_scale(self.spec.scale if references else 0.0)
        return {"ip_adapter_image": [references or [self._blank]]}
