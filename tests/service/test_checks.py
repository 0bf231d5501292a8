"""How `prepare` decodes an edit's uploads: within a pixel budget per request, references shrunk at once."""

from __future__ import annotations

import pytest
from PIL import Image

from gazo.backends.base import Capabilities
from gazo.engine.base import ModelInfo
from gazo.errors import InvalidImage
from gazo.jobs import EditJob, ImageRequest, Upload
from gazo.service.checks import prepare
from gazo.settings import ServerSettings
from tests.support.pixels import bomb_png, png_bytes

MODEL = ModelInfo(
    name="editor",
    description="",
    capabilities=Capabilities(edit=True, mask=True, max_input_images=16).model_dump(),
    default_size="1024x1024",
    default_quality="medium",
)


def edit(*images: bytes, size: str = "512x512") -> ImageRequest:
    return ImageRequest(prompt="x", size=size, images=tuple(Upload(data) for data in images))


def test_the_first_image_keeps_its_pixels_and_references_shrink_to_the_output() -> None:
    first = png_bytes(Image.new("RGB", (2048, 2048), (1, 2, 3)))
    references = [
        png_bytes(Image.new("RGB", (3000, 1000), (200, 0, 0))),
        png_bytes(Image.new("RGB", (100, 80))),
    ]
    prepared = prepare(edit(first, *references), MODEL, ServerSettings())
    assert isinstance(prepared.job, EditJob)
    assert [image.size for image in prepared.job.images] == [(2048, 2048), (512, 171), (100, 80)]
    assert prepared.input_sizes == ((2048, 2048), (3000, 1000), (100, 80))
    assert prepared.input_mimes == ("image/png",) * 3


def test_the_pixel_budget_is_checked_from_headers_before_any_decoding() -> None:
    bombs = [bomb_png(2000, 2000) for _ in range(4)]  # headers claim 4 MP each, in files of a few bytes
    with pytest.raises(InvalidImage, match="16000000 pixels in all; at most 15000000") as refused:
        prepare(edit(*bombs), MODEL, ServerSettings(max_request_input_pixels=15_000_000))
    assert refused.value.param == "image"
    prepared = prepare(edit(*bombs), MODEL, ServerSettings(max_request_input_pixels=16_000_000))
    assert prepared.input_sizes == ((2000, 2000),) * 4


def test_jpeg_references_count_at_the_scale_they_are_decoded_at() -> None:
    first = png_bytes(Image.new("RGB", (512, 512)))
    jpeg = png_bytes(Image.new("RGB", (4096, 4096), (0, 90, 200)), "JPEG")  # decoded at 1/4: 1024x1024
    limits = ServerSettings(max_request_input_pixels=512 * 512 + 3 * 1024 * 1024)
    prepared = prepare(edit(first, jpeg, jpeg, jpeg), MODEL, limits)
    assert [image.size for image in prepared.job.images[1:]] == [(512, 512)] * 3  # type: ignore[attr-defined]
    with pytest.raises(InvalidImage, match="per request"):
        prepare(edit(first, *[jpeg] * 4), MODEL, limits)
