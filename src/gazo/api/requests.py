"""The JSON bodies of the image endpoints as domain requests: shared by `/v1/images/edits` sent as JSON
and by batch lines, so a line is checked exactly as the same request sent alone would be."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gazo.api.errors import validation_error
from gazo.api.image_refs import ImageResolver, image_source
from gazo.api.protocol import ImageEditJsonRequest, ImageGenerateRequest, ImageReference
from gazo.errors import InvalidRequest
from gazo.jobs import ImageRequest, Upload


@dataclass(frozen=True)
class ParsedRequest:
    """A checked request, with how its response is shaped."""

    request: ImageRequest
    revised_prompt: bool  # the response reports `revised_prompt`
    stream: bool


def parse(model: type[BaseModel], body: Any) -> Any:
    """`body` validated as `model`, a failure reported as the HTTP route reports it."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise validation_error(error) from None


def generation(body: Any) -> ParsedRequest:
    request: ImageGenerateRequest = parse(ImageGenerateRequest, body)
    return ParsedRequest(request.to_request(), request.shows_revised_prompt, bool(request.stream))


def edit(body: Any, resolver: ImageResolver, *, max_images: int) -> ParsedRequest:
    """An edit whose images are references (blocking: they are read here)."""
    request: ImageEditJsonRequest = parse(ImageEditJsonRequest, body)
    if len(request.images) > max_images:
        raise InvalidRequest(f"At most {max_images} images may be sent.", param="images")
    images = [
        _upload(reference, f"images[{index}]", resolver) for index, reference in enumerate(request.images)
    ]
    mask = _upload(request.mask, "mask", resolver) if request.mask is not None else None
    edit_request = request.to_edit_request(images, mask)
    return ParsedRequest(edit_request, request.shows_revised_prompt, bool(request.stream))


def _upload(reference: ImageReference, param: str, resolver: ImageResolver) -> Upload:
    source = image_source(reference.model_dump(exclude_none=True), param, resolver.max_bytes)
    return resolver.upload(source)
