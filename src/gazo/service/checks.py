"""Turning an `ImageRequest` into a concrete job, refusing everything the chosen model cannot honour.

Every check that can fail a request runs here, before any model work and before a stream starts,
so a client sees OpenAI's 400 with the offending `param` instead of a half-sent stream.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from PIL import Image

from gazo.engine.base import Capabilities, CapabilityName, ModelInfo
from gazo.errors import InvalidImage, InvalidRequest, ModelLoading, UnsupportedParameter
from gazo.imaging import (
    ACCEPTED_INPUT_FORMATS,
    draft_within,
    edit_region_from_alpha,
    extend_canvas,
    fit_to,
    has_alpha,
    load_image,
    open_image,
)
from gazo.jobs import Background, EditJob, GenerateJob, ImageRequest, Job, Quality, Size, Style
from gazo.settings import ServerSettings
from gazo.typography.fonts import shared_fonts
from gazo.typography.quotes import quoted_text

#: Asks a model without alpha output for a background that `matte_from_border` can key out.
MATTE_PROMPT_HINT = ", isolated subject on a plain flat light-grey background"
#: DALL-E 3's `style`, honoured by a fixed addition to the prompt the model renders (and reports as
#: `revised_prompt`); moderation and billing see the user's own text.
STYLE_PROMPTS: dict[Style, str] = {
    "vivid": ", vivid style: hyper-real and dramatic, bold saturated colours, striking light, crisp detail",
    "natural": ", natural style: true-to-life colours, soft natural light, realistic and understated",
}
STANDARD_SIZES = (Size(1024, 1024), Size(1536, 1024), Size(1024, 1536))
_MAX_ASPECT = 3.0
MAX_TEXTS, MAX_TEXT_LENGTH = 4, 200
#: `Retry-After` for a request that waits on a model's load: the openai SDK retries a 503 twice by
#: default, honouring this, so a client keeps trying for about 10 s before it sees the error.
LOADING_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class PreparedRequest:
    """A request that passed every check: the job to render and how to deliver its images."""

    request: ImageRequest
    job: Job
    model: ModelInfo
    #: The prompt as the model renders it (the `style` addition included), less gazo's internal hints.
    revised_prompt: str
    original: Image.Image | None = None  # edits: the first image at the output size
    region: Image.Image | None = None  # edits with a mask: 255 = repaint, at the output size
    input_sizes: tuple[tuple[int, int], ...] = ()
    input_mimes: tuple[str, ...] = ()
    matte: bool = False  # cut the subject out after rendering (the model paints no alpha itself)
    text_left: tuple[str, ...] = ()  # quoted text gazo cannot set exactly, left to the model

    def extensions(self) -> dict[str, Any]:
        """What gazo did beyond OpenAI's API, reported under `gazo` in responses: the text it set and
        how the edit's reference images were used."""
        report: dict[str, Any] = {}
        capabilities = self.model.capabilities
        if self.job.text or self.text_left:
            report["text"] = {
                "mode": capabilities.text if self.job.text else "none",
                "strings": list(self.job.text),
                "left_to_model": list(self.text_left),
            }
        if isinstance(self.job, EditJob) and len(self.job.images) > 1:
            report["references"] = {"mode": capabilities.references, "count": len(self.job.images) - 1}
        if self.job.adapters:
            report["adapters"] = [{"name": name, "weight": weight} for name, weight in self.job.adapters]
        return report

    def rendering(self) -> dict[str, Any]:
        """`extensions` for the Content Credentials: the same facts, without the strings themselves."""
        report = self.extensions()
        if "text" in report:
            report["text"] = {"mode": report["text"]["mode"], "count": len(report["text"]["strings"])}
        return report

    def input_relationships(self) -> list[str]:
        """Each input image's C2PA relationship: the first was edited; references whose pixels the model
        places are components, references that only guide it are inputs."""
        placed = self.model.capabilities.references == "placed+palette"
        rest = "componentOf" if placed else "inputTo"
        return ["parentOf" if index == 0 else rest for index in range(len(self.request.images))]

    @property
    def adapter(self) -> str | None:
        """The LoRA adapter the request's `model` field names (it renders on `model.name`), else None."""
        requested = self.request.model
        return requested if requested is not None and requested in self.model.adapters else None

    @property
    def resized(self) -> bool:
        """An edit whose output size differs from its first input's (recorded as `c2pa.resized`)."""
        return bool(self.input_sizes) and self.input_sizes[0] != (self.job.size.width, self.job.size.height)


def prepare(request: ImageRequest, model: ModelInfo, limits: ServerSettings) -> PreparedRequest:
    """Validate `request` against `model` and `limits`, decode its uploads, resolve every `auto`."""
    capabilities = model.capabilities
    quality = _check_quality(request.quality, model)
    background = _check_background(request)
    if request.partial_images and not capabilities.partial_images:
        raise UnsupportedParameter(
            f"The model `{model.name}` cannot stream partial images.", param="partial_images"
        )
    matte = background == "transparent" and not capabilities.transparent_background
    text, text_left = _check_text(request, model)
    adapters = check_adapters(request, model)
    revised_prompt = request.prompt + (STYLE_PROMPTS[request.style] if request.style else "")
    prompt = f"{revised_prompt}{MATTE_PROMPT_HINT}" if matte else revised_prompt
    if not request.is_edit:
        size = _check_size(request.size, model, default=Size.parse(model.default_size))
        job: Job = GenerateJob(
            prompt=prompt,
            model=model.name,
            size=size,
            quality=quality,
            n=request.n,
            background=background,
            seed=request.seed,
            partial_images=request.partial_images,
            text=text,
            adapters=adapters,
        )
        return PreparedRequest(
            request=request,
            job=job,
            model=model,
            revised_prompt=revised_prompt,
            matte=matte,
            text_left=text_left,
        )

    _require_settled(model, "edit", *(("references",) if len(request.images) > 1 else ()))
    opened = _open_images(request, model, limits)
    size = _check_size(request.size, model, default=_auto_edit_size(opened[0], model))
    input_sizes = tuple(image.size for image in opened)
    input_mimes = tuple(ACCEPTED_INPUT_FORMATS[str(image.format)] for image in opened)
    first, references, mask = _decode_images(request, opened, size, limits)
    images = [first, *references]
    region = _edit_region(first, mask)
    if region is None and _extends_canvas(request, first, size):
        first, region = extend_canvas(first, size, request.placement or "center")
        images = [first, *images[1:]]
    if region is not None:
        _require_settled(model, "mask")
    if region is not None and not capabilities.mask:
        raise UnsupportedParameter(f"The model `{model.name}` cannot edit inside a mask.", param="mask")
    original = fit_to(first, size)
    if region is not None:
        region = region.resize((size.width, size.height), Image.Resampling.NEAREST)
    job = EditJob(
        prompt=prompt,
        model=model.name,
        size=size,
        quality=quality,
        n=request.n,
        background=background,
        seed=request.seed,
        partial_images=request.partial_images,
        text=text,
        adapters=adapters,
        images=tuple(images),
        mask=region,
        input_fidelity=request.input_fidelity,
    )
    return PreparedRequest(
        request=request,
        job=job,
        model=model,
        revised_prompt=revised_prompt,
        original=original,
        region=region,
        input_sizes=input_sizes,
        input_mimes=input_mimes,
        matte=matte,
        text_left=text_left,
    )


def check_adapters(request: ImageRequest, model: ModelInfo) -> tuple[tuple[str, float], ...]:
    """The LoRA adapters to apply, sorted by name: the one the `model` field names (at its configured
    weight), and those the request picks in `lora` where the model allows it. Only names of adapters
    configured on the model are accepted, never a path or a hub id."""
    chosen: dict[str, float] = {}
    if request.model is not None and request.model in model.adapters:
        chosen[request.model] = model.adapters[request.model].weight
    if request.lora and not model.request_adapters:
        raise InvalidRequest(
            f"The model `{model.name}` does not take adapters per request; ask for an adapter by its model "
            f"name ({', '.join(model.adapters) or 'it has none'}) instead.",
            param="lora",
        )
    picked = [name for name, _ in request.lora]
    for name, weight in request.lora:
        if name not in model.adapters:
            raise InvalidRequest(
                f"`lora` names {name[:64]!r}, which is not an adapter of model `{model.name}`; "
                f"its adapters: {', '.join(model.adapters)}.",
                param="lora",
            )
        if picked.count(name) > 1:
            raise InvalidRequest(f"`lora` names {name!r} more than once.", param="lora")
        chosen[name] = model.adapters[name].weight if weight is None else weight
    return tuple(sorted(chosen.items()))


def _check_text(request: ImageRequest, model: ModelInfo) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(text to set exactly, quoted text left to the model). `text` the model cannot set is refused;
    quoted text it cannot set stays part of the prompt, as with any other model."""
    if request.text or quoted_text(request.prompt):
        _require_settled(model, "text")
    fonts, mode = shared_fonts(), model.capabilities.text
    if request.text and mode == "none":
        raise UnsupportedParameter(f"The model `{model.name}` cannot set `text` exactly.", param="text")
    for text in request.text:
        problem = _text_problem(text, fonts.missing(text))
        if problem:
            raise InvalidRequest(f"`text` {text[:40]!r} {problem}.", param="text")
    quoted = quoted_text(request.prompt) if mode != "none" else []
    settable = [text for text in quoted if not _text_problem(text, fonts.missing(text))]
    texts = tuple(dict.fromkeys([*settable, *request.text]))
    if len(texts) > MAX_TEXTS:
        raise InvalidRequest(
            f"At most {MAX_TEXTS} texts can be set in one image (quoted in `prompt` or in `text`), "
            f"got {len(texts)}.",
            param="text",
        )
    left = quoted_text(request.prompt) if mode == "none" else [t for t in quoted if t not in settable]
    return texts, tuple(left)


def _text_problem(text: str, missing: str) -> str | None:
    if not text.strip():
        return "is empty"
    if len(text) > MAX_TEXT_LENGTH:
        return f"is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are set"
    if any(unicodedata.category(char) == "Cc" for char in text):
        return "contains control characters (line breaks included); gazo breaks lines itself"
    if missing:
        return f"has characters no font of gazo can draw: {missing}"
    return None


def _extends_canvas(request: ImageRequest, image: Image.Image, size: Size) -> bool:
    """Background extension: asked for by `placement`, or implied by a size of another shape."""
    if request.placement is not None:
        return True
    if request.size == "auto" or (image.width, image.height) == (size.width, size.height):
        return False
    return abs(image.width / image.height - size.width / size.height) > 0.01


def _check_quality(requested: str, model: ModelInfo) -> Quality:
    allowed = model.capabilities.qualities
    wanted = model.default_quality if requested == "auto" else requested
    for quality in allowed:
        if quality == wanted:
            return quality
    raise InvalidRequest(
        f"`quality` must be one of auto, {', '.join(allowed)} for model `{model.name}`, got {requested!r}.",
        param="quality",
    )


def _require_settled(model: ModelInfo, *needed: CapabilityName) -> None:
    """Refuse with 503 `model_loading` a request that depends on a capability the model's load has yet
    to decide: judged by the pre-load placeholder it could be refused (or drawn) wrongly, and the
    job would wait for the load anyway. Requests that depend on none of them queue as usual."""
    waiting = [name for name in needed if name in model.pending]
    if waiting:
        raise ModelLoading(
            f"The model `{model.name}` is still loading; what it can do with this request "
            f"({', '.join(waiting)}) is known once it has loaded. Retry shortly.",
            retry_after_s=LOADING_RETRY_AFTER_S,
        )


def _check_background(request: ImageRequest) -> Background:
    if request.background != "transparent":
        return "opaque"
    if request.output_format == "jpeg":
        raise InvalidRequest(
            "`background` transparent needs `output_format` png or webp; jpeg has no alpha channel.",
            param="background",
        )
    return "transparent"


def _check_size(requested: str, model: ModelInfo, *, default: Size) -> Size:
    if requested == "auto":
        return default
    try:
        size = Size.parse(requested)
    except ValueError:
        raise InvalidRequest(
            f"`size` must be auto or WIDTHxHEIGHT (e.g. 1024x1024, 1536x1024, 1024x1536), got {requested!r}.",
            param="size",
            code="invalid_size",
        ) from None
    problem = size_problem(size, model.capabilities)
    if problem:
        raise InvalidRequest(
            f"`size` {requested} is not supported by model `{model.name}`: {problem}.",
            param="size",
            code="invalid_size",
        )
    return size


def size_problem(size: Size, capabilities: Capabilities) -> str | None:
    """Why `size` cannot be rendered, or None when it can."""
    multiple, min_side = capabilities.size_multiple, capabilities.min_side
    max_side, max_pixels = capabilities.max_side, capabilities.max_pixels
    if size.width % multiple or size.height % multiple:
        return f"width and height must be multiples of {multiple}"
    if min(size.width, size.height) < min_side or max(size.width, size.height) > max_side:
        return f"each side must be between {min_side} and {max_side} pixels"
    if max(size.width, size.height) / min(size.width, size.height) > _MAX_ASPECT:
        return "the aspect ratio must be between 1:3 and 3:1"
    if size.pixels > max_pixels:
        return f"at most {max_pixels} pixels"
    return None


def _auto_edit_size(image: Image.Image, model: ModelInfo) -> Size:
    """Keep the input's own size when the model can render it, else the standard size nearest its shape."""
    own = Size(*image.size)
    if size_problem(own, model.capabilities) is None:
        return own
    aspect = own.width / own.height
    return min(STANDARD_SIZES, key=lambda size: abs(size.width / size.height - aspect))


def _open_images(request: ImageRequest, model: ModelInfo, limits: ServerSettings) -> list[Image.Image]:
    """Every upload's header checked (count, format, pixels); nothing decoded yet."""
    if not model.capabilities.edit:
        raise UnsupportedParameter(
            f"The model `{model.name}` cannot edit images, so it makes neither edits nor variations.",
            param="image",
        )
    most = min(limits.max_input_images, model.capabilities.max_input_images)
    if len(request.images) > most:
        raise InvalidImage(f"At most {most} images may be sent, got {len(request.images)}.", param="image")
    most_pixels = limits.max_input_pixels
    return [open_image(upload.data, param="image", max_pixels=most_pixels) for upload in request.images]


def _decode_images(
    request: ImageRequest, opened: list[Image.Image], size: Size, limits: ServerSettings
) -> tuple[Image.Image, list[Image.Image], Image.Image | None]:
    """(first image, references, mask), decoded one at a time within the request's pixel budget, which is
    checked before any decoding. The first image keeps its full size (an edit keeps its pixels); each
    reference is shrunk at once to what a model can use at `size`, so full-size copies never pile up."""
    side = max(size.width, size.height)
    mask = _open_mask(request, opened[0], limits)
    references = [draft_within(image, side) for image in opened[1:]]
    decoded = [opened[0], *references, *([mask] if mask is not None else [])]
    pixels = sum(image.width * image.height for image in decoded)
    if pixels > limits.max_request_input_pixels:
        raise InvalidImage(
            f"The images of this edit (and its mask) would decode to {pixels} pixels in all; at most "
            f"{limits.max_request_input_pixels} are accepted per request. Send fewer or smaller images.",
            param="image",
        )
    first = load_image(opened[0], param="image")
    shrunk = [load_image(image, param="image", within=side) for image in references]
    return first, shrunk, None if mask is None else load_image(mask, param="mask")


def _open_mask(request: ImageRequest, first: Image.Image, limits: ServerSettings) -> Image.Image | None:
    if request.mask is None:
        return None
    mask = open_image(request.mask.data, param="mask", max_pixels=limits.max_input_pixels, formats={"PNG"})
    if mask.size != first.size:
        raise InvalidImage(
            f"`mask` is {mask.width}x{mask.height} but the image is {first.width}x{first.height}; "
            "they must match.",
            param="mask",
        )
    return mask


def _edit_region(first: Image.Image, mask: Image.Image | None) -> Image.Image | None:
    """OpenAI's rule: the mask's transparent pixels, or else the first image's own transparent pixels."""
    if mask is not None:
        return edit_region_from_alpha(mask, param="mask")
    if has_alpha(first):
        region = edit_region_from_alpha(first, param="image")
        if region.getbbox() is not None:
            return region
    return None
