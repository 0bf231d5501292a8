"""How a diffusers pipeline takes an edit's reference images (every image after the first).

Pipelines built to edit from several images take them as they are (Qwen-Image-Edit Plus: a list);
FLUX.1 Kontext and the first Qwen-Image-Edit take one conditioning image, so the references are laid
beside the edited image in it, the way Kontext is prompted with several images. Other pipelines use the
first image as the init image and let the references steer its colours (`gazo.imaging.steer_colours`).
"""

from __future__ import annotations

from typing import Any, Literal

from PIL import Image

from gazo.imaging import fit_to
from gazo.jobs import EditJob

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
