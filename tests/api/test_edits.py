"""`client.images.edit` through the official SDK: masks, several images, alpha as mask."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gazo.billing.tokens import count_text_tokens, image_input_tokens
from tests.support.pixels import centre_mask, changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer


def test_edit_changes_no_pixel_outside_mask(server: GazoServer) -> None:
    original = photo()
    mask, keep = centre_mask(256, 256, (64, 64, 192, 192))
    result = server.client().images.edit(
        image=("photo.png", png_bytes(original), "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="a red balloon",
        extra_body={"seed": 1},
    )
    edited, _ = decode_b64(result.data[0].b64_json)
    assert edited.size == (256, 256) and result.size == "256x256"
    assert changed_pixels(original, edited, where=keep) == 0
    assert changed_pixels(original, edited, where=~keep) > 0.5 * (~keep).sum()


def test_edit_with_several_images_bills_each_input(server: GazoServer) -> None:
    images = [("a.png", png_bytes(photo(seed=i)), "image/png") for i in range(3)]
    prompt = "the same product on a beach"
    result = server.client().images.edit(image=images, prompt=prompt, size="256x256", quality="low")
    edited, _ = decode_b64(result.data[0].b64_json)
    assert edited.size == (256, 256)
    expected_image_tokens = 3 * image_input_tokens(256, 256)
    assert result.usage.input_tokens_details.image_tokens == expected_image_tokens
    assert result.usage.input_tokens == expected_image_tokens + count_text_tokens(prompt)


def test_transparent_pixels_of_the_image_act_as_the_mask(server: GazoServer) -> None:
    original = photo().convert("RGBA")
    pixels = np.asarray(original).copy()
    pixels[:128, :, 3] = 0  # top half transparent: edit there
    source = Image.fromarray(pixels, "RGBA")
    result = server.client().images.edit(image=("in.png", png_bytes(source), "image/png"), prompt="blue sky")
    edited, _ = decode_b64(result.data[0].b64_json)
    keep = np.zeros((256, 256), bool)
    keep[128:, :] = True
    assert changed_pixels(source.convert("RGB"), edited.convert("RGB"), where=keep) == 0


@pytest.mark.parametrize("upload_format", ["JPEG", "WEBP"])
def test_jpeg_and_webp_inputs_are_accepted(server: GazoServer, upload_format: str) -> None:
    buffer = io.BytesIO()
    photo(128, 128).save(buffer, upload_format)
    result = server.client().images.edit(
        image=(f"in.{upload_format.lower()}", buffer.getvalue(), f"image/{upload_format.lower()}"),
        prompt="make it autumn",
        output_format="webp",
    )
    edited, _ = decode_b64(result.data[0].b64_json)
    assert edited.format == "WEBP" and edited.size == (128, 128)


def test_edit_auto_size_of_an_odd_input_picks_the_nearest_standard_size(server: GazoServer) -> None:
    result = server.client().images.edit(
        image=("wide.png", png_bytes(photo(301, 200)), "image/png"), prompt="x", quality="low"
    )
    assert decode_b64(result.data[0].b64_json)[0].size == (1536, 1024)


@pytest.mark.parametrize(("placement", "box"), [(None, (128, 0, 384, 256)), ("left", (0, 0, 256, 256))])
def test_a_wider_size_extends_the_canvas_and_keeps_the_original_exactly(
    server: GazoServer, placement: str | None, box: tuple[int, int, int, int]
) -> None:
    original = photo(256, 256)
    extra = {"placement": placement} if placement else {}
    result = server.client().images.edit(
        image=("p.png", png_bytes(original), "image/png"),
        prompt="more beach",
        size="512x256",
        extra_body=extra,
    )
    extended, _ = decode_b64(result.data[0].b64_json)
    assert extended.size == (512, 256)
    assert np.array_equal(np.asarray(extended.crop(box).convert("RGB")), np.asarray(original))
    new_area = np.ones((256, 512), bool)
    new_area[box[1] : box[3], box[0] : box[2]] = False
    canvas = Image.new("RGB", (512, 256))
    canvas.paste(original, box[:2])
    assert changed_pixels(canvas, extended, where=new_area) > 0.9 * new_area.sum()


def test_placement_with_a_bad_value_is_refused(server: GazoServer) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        server.client().images.edit(
            image=("p.png", png_bytes(photo(64, 64)), "image/png"),
            prompt="x",
            extra_body={"placement": "middle"},
        )
    assert caught.value.param == "placement"
