"""Image operations: safe decoding, OpenAI mask semantics, keep-unmasked compositing, encoding."""

from __future__ import annotations

import io
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from gazo.errors import InvalidImage
from gazo.imaging import (
    colour_sample,
    decode_image,
    draft_within,
    edit_region_from_alpha,
    encode_image,
    encode_png,
    keep_unmasked,
    load_image,
    open_image,
    steer_colours,
)
from tests.support.pixels import changed_pixels, png_bytes


def test_decode_refuses_non_images_wrong_formats_and_too_many_pixels() -> None:
    with pytest.raises(InvalidImage, match="not a decodable image"):
        decode_image(b"nope", param="image", max_pixels=10**6)
    with pytest.raises(InvalidImage, match="must be one of"):
        decode_image(png_bytes(Image.new("RGB", (8, 8)), "BMP"), param="image", max_pixels=10**6)
    with pytest.raises(InvalidImage, match="at most 100"):
        decode_image(png_bytes(Image.new("RGB", (20, 20))), param="image", max_pixels=100)
    assert decode_image(png_bytes(Image.new("RGB", (8, 8))), param="image", max_pixels=100).size == (8, 8)


def test_transparent_mask_pixels_mark_the_edit_region() -> None:
    mask = Image.new("RGBA", (4, 4), (0, 0, 0, 255))
    mask.putpixel((1, 2), (0, 0, 0, 0))
    mask.putpixel((3, 3), (0, 0, 0, 10))  # partly transparent is not "fully transparent"
    region = np.asarray(edit_region_from_alpha(mask, param="mask"))
    assert region[2, 1] == 255 and region.sum() == 255
    with pytest.raises(InvalidImage, match="alpha channel"):
        edit_region_from_alpha(Image.new("L", (4, 4)), param="mask")


def test_keep_unmasked_changes_nothing_outside_and_blends_inside() -> None:
    rng = np.random.default_rng(0)
    original = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    generated = Image.new("RGB", (64, 64), (255, 0, 0))
    region = Image.new("L", (64, 64), 0)
    region.paste(255, (16, 16, 48, 48))
    result = keep_unmasked(original, generated, region)
    outside = np.asarray(region) == 0
    assert changed_pixels(original, result, where=outside) == 0
    assert np.asarray(result)[32, 32].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    ("fmt", "background", "mode"),
    [
        ("png", "transparent", "RGBA"),
        ("webp", "transparent", "RGBA"),
        ("png", "opaque", "RGB"),
        ("jpeg", "opaque", "RGB"),
    ],
)
def test_encode_keeps_alpha_only_when_asked(fmt: str, background: str, mode: str) -> None:
    image = Image.new("RGBA", (16, 16), (10, 20, 30, 128))
    decoded = Image.open(io.BytesIO(encode_image(image, output_format=fmt, background=background)))
    assert decoded.mode == mode and decoded.format == {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}[fmt]


@pytest.mark.parametrize(("mode", "size"), [("RGB", (301, 173)), ("RGBA", (64, 1)), ("RGB", (1, 1))])
def test_png_output_is_lossless_with_valid_chunks_at_pillows_size(mode: str, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    smooth = np.cumsum(rng.integers(-3, 4, size=(size[1], size[0], len(mode))), axis=1) + 128
    image = Image.fromarray(np.clip(smooth, 0, 255).astype(np.uint8), mode)
    data = encode_png(image)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == mode and np.array_equal(np.asarray(decoded), np.asarray(image))
    kinds, offset = [], 8  # every chunk's CRC checked by hand, since Pillow skips some
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        checksum = int.from_bytes(data[offset + 8 + length : offset + 12 + length], "big")
        assert checksum == zlib.crc32(kind + body)
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    pillow = io.BytesIO()
    image.save(pillow, "PNG")
    assert len(data) <= 1.1 * len(pillow.getvalue()) + 64


def test_steer_colours_moves_toward_the_references() -> None:
    grey = Image.new("RGB", (8, 8), (128, 128, 128))
    red = Image.new("RGB", (8, 8), (250, 10, 10))
    steered = np.asarray(steer_colours(grey, (red,), 0.5)).reshape(-1, 3).mean(0)
    assert steered[0] > 170 and steered[1] < 90
    assert steer_colours(grey, (), 0.5) is grey


def test_steer_colours_makes_no_full_size_float_copy() -> None:
    """Issue #15: 16 large references once cost 15 GB in float32 copies; now only small samples are read."""
    image = Image.new("RGB", (2000, 2000), (128, 128, 128))
    references = (
        Image.new("RGB", (3000, 2000), (250, 10, 10)),
        Image.new("RGBA", (2000, 3000), (10, 10, 250, 9)),
    )
    tracemalloc.start()
    steered = steer_colours(image, references, 0.5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * 2**20, f"{peak} bytes traced; one full-size float32 copy is {2000 * 2000 * 12}"
    # halfway from grey to the references' pooled colour (130, 10, 130)
    assert steered.size == image.size and steered.getpixel((0, 0)) == (129, 69, 129)


def test_colour_sample_reads_a_small_grid_of_any_mode() -> None:
    palette = Image.new("P", (5000, 300))
    palette.putpalette([200, 100, 50] * 256)
    sample = colour_sample(palette)
    assert sample.shape == (256 * 15, 3) and sample.dtype == np.uint8
    assert sample[0].tolist() == [200, 100, 50]


def test_references_are_decoded_already_shrunk() -> None:
    big_jpeg = png_bytes(Image.new("RGB", (4000, 3000), (10, 200, 30)), "JPEG")
    drafted = draft_within(open_image(big_jpeg, param="image", max_pixels=10**8), 500)
    assert drafted.size == (1000, 750)  # the JPEG decoder works at a quarter scale, never at full size
    assert load_image(drafted, param="image", within=500).size == (500, 375)
    palette = Image.new("P", (1200, 600))
    palette.putpalette([0, 0, 255] * 256)
    shrunk = load_image(
        open_image(png_bytes(palette), param="image", max_pixels=10**8), param="image", within=300
    )
    assert (shrunk.size, shrunk.mode, shrunk.getpixel((10, 10))) == ((300, 150), "RGB", (0, 0, 255))
    small = open_image(png_bytes(palette.resize((200, 100))), param="image", max_pixels=10**8)
    assert load_image(draft_within(small, 300), param="image", within=300).size == (200, 100)


def test_matte_from_border_cuts_a_soft_subject_out_of_a_gradient_background() -> None:
    from PIL import ImageDraw, ImageFilter

    from gazo.imaging import matte_from_border

    ys, xs = np.mgrid[0:256, 0:256]
    background = np.stack([120 + 60 * xs / 256, 180 - 40 * ys / 256, 90 + 30 * (xs + ys) / 512], -1)
    truth = Image.new("L", (256, 256), 0)
    ImageDraw.Draw(truth).ellipse((70, 60, 190, 200), fill=255)
    truth = truth.filter(ImageFilter.GaussianBlur(1.5))
    scene = Image.composite(
        Image.new("RGB", (256, 256), (200, 30, 40)), Image.fromarray(background.astype(np.uint8)), truth
    )
    alpha = np.asarray(matte_from_border(scene))[..., 3]
    inside, cut = np.asarray(truth) > 127, alpha > 127
    assert (inside & cut).sum() / (inside | cut).sum() > 0.95
    assert alpha[~inside].mean() < 8 and alpha[inside].mean() > 240
