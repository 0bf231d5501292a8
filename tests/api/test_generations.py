"""`client.images.generate` through the official SDK against the real server."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from gazo.billing.tokens import count_text_tokens, image_output_tokens
from tests.support.pixels import decode_b64
from tests.support.server import GazoServer


def test_generate_returns_n_images_with_concrete_fields_and_usage(server: GazoServer) -> None:
    prompt = "a lighthouse at sunset, watercolor"
    result = server.client().images.generate(model="gpt-image-1", prompt=prompt, n=2, size="1024x1024")
    assert len(result.data) == 2
    for item in result.data:
        image, data = decode_b64(item.b64_json)
        assert image.format == "PNG" and image.size == (1024, 1024)
        assert data.startswith(b"\x89PNG")
    assert (result.size, result.quality, result.output_format, result.background) == (
        "1024x1024",
        "medium",
        "png",
        "opaque",
    )
    usage = result.usage
    assert usage.input_tokens == usage.input_tokens_details.text_tokens == count_text_tokens(prompt)
    assert usage.input_tokens_details.image_tokens == 0
    assert usage.output_tokens == 2 * 1056 == 2 * image_output_tokens(1024, 1024, "medium")
    assert usage.output_tokens_details.image_tokens == usage.output_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@pytest.mark.parametrize(
    ("size", "quality", "expected_size", "expected_tokens"),
    [
        ("1536x1024", "low", (1536, 1024), 400),
        ("1024x1536", "high", (1024, 1536), 6240),
        ("auto", "auto", (1024, 1024), 1056),
        ("512x768", "low", (512, 768), 12 * 9),
    ],
)
def test_every_size_renders_exactly_and_bills_by_size_and_quality(
    server: GazoServer, size: str, quality: str, expected_size: tuple[int, int], expected_tokens: int
) -> None:
    result = server.client().images.generate(prompt="a red fox", size=size, quality=quality)
    image, _ = decode_b64(result.data[0].b64_json)
    assert image.size == expected_size
    assert result.size == f"{expected_size[0]}x{expected_size[1]}"
    assert result.quality in ("low", "medium", "high")
    assert result.usage.output_tokens == expected_tokens


@pytest.mark.parametrize(
    ("output_format", "pil_format"), [("jpeg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")]
)
def test_every_format_is_encoded_as_asked(server: GazoServer, output_format: str, pil_format: str) -> None:
    result = server.client().images.generate(
        prompt="a blue bird", size="256x256", quality="low", output_format=output_format
    )
    image, _ = decode_b64(result.data[0].b64_json)
    assert image.format == pil_format and image.size == (256, 256)
    assert image.mode in ("RGB", "P", "L")  # opaque: no alpha channel
    assert result.output_format == output_format


def test_output_compression_makes_jpeg_smaller(server: GazoServer) -> None:
    client = server.client()
    sizes = []
    for compression in (100, 10):
        result = client.images.generate(
            prompt="a tree",
            size="512x512",
            quality="low",
            output_format="jpeg",
            output_compression=compression,
            extra_body={"seed": 7},
        )
        sizes.append(len(decode_b64(result.data[0].b64_json)[1]))
    assert sizes[1] < sizes[0] / 2


def test_same_seed_gives_same_pixels_and_another_seed_differs(server: GazoServer) -> None:
    client = server.client()

    def pixels(seed: int) -> np.ndarray:
        result = client.images.generate(
            prompt="a cat", size="256x256", quality="low", extra_body={"seed": seed}
        )
        return np.asarray(decode_b64(result.data[0].b64_json)[0].convert("RGB"))

    assert np.array_equal(pixels(3), pixels(3))
    assert not np.array_equal(pixels(3), pixels(4))


def test_openai_model_names_are_aliases_of_the_default_model(server: GazoServer) -> None:
    client = server.client()
    for name in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-2", "chatgpt-image-latest", "gazo-tiny-sd"):
        result = client.images.generate(model=name, prompt="a boat", size="256x256", quality="low")
        assert decode_b64(result.data[0].b64_json)[0].size == (256, 256)


def test_safety_identifier_is_echoed(server: GazoServer) -> None:
    result = server.client().images.generate(
        prompt="a kite", size="256x256", quality="low", safety_identifier="user-123"
    )
    assert result.safety_identifier == "user-123"


def test_unknown_model_is_404_model_not_found(server: GazoServer) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        server.client().images.generate(model="no-such-model", prompt="x")
    assert caught.value.code == "model_not_found"


@pytest.mark.parametrize("output_format", ["png", "webp"])
def test_transparent_background_has_a_real_alpha_channel(server: GazoServer, output_format: str) -> None:
    result = server.client().images.generate(
        prompt="a red apple",
        size="256x256",
        quality="low",
        background="transparent",
        output_format=output_format,
    )
    image, _ = decode_b64(result.data[0].b64_json)
    assert image.mode == "RGBA" and result.background == "transparent"
    alpha = np.asarray(image)[..., 3]
    assert alpha.min() < 255  # something was keyed out (the tiny model paints noise, so no more is claimed)
    assert result.usage.input_tokens == count_text_tokens("a red apple")  # the matting hint is not billed
