"""Streaming with partial images, parsed by the official SDK."""

from __future__ import annotations

import numpy as np

from gazo.billing.tokens import image_output_tokens
from tests.support.pixels import centre_mask, changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer


def test_generation_stream_sends_real_partials_then_the_final_image(server: GazoServer) -> None:
    stream = server.client().images.generate(
        prompt="a forest",
        size="256x256",
        quality="high",
        stream=True,
        partial_images=2,
        extra_body={"seed": 5},
    )
    events = list(stream)
    partials = [e for e in events if e.type == "image_generation.partial_image"]
    completed = [e for e in events if e.type == "image_generation.completed"]
    assert [e.partial_image_index for e in partials] == [0, 1]
    assert len(completed) == 1 and events[-1] is completed[0]
    final, _ = decode_b64(completed[0].b64_json)
    assert final.size == (256, 256)
    for partial in partials:
        image, _ = decode_b64(partial.b64_json)
        assert image.size == (256, 256) and partial.size == "256x256" and partial.output_format == "png"
        assert not np.array_equal(np.asarray(image.convert("RGB")), np.asarray(final.convert("RGB")))
    usage = completed[0].usage
    assert usage.output_tokens == image_output_tokens(256, 256, "high") + 2 * 100  # + two partial images
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_stream_with_n_images_completes_each(server: GazoServer) -> None:
    stream = server.client().images.generate(prompt="dunes", size="256x256", quality="low", n=2, stream=True)
    completed = [e for e in stream if e.type == "image_generation.completed"]
    assert len(completed) == 2
    assert sum(e.usage.output_tokens for e in completed) == 2 * 20


def test_edit_stream_keeps_pixels_outside_the_mask(server: GazoServer) -> None:
    original = photo()
    mask, keep = centre_mask(256, 256, (0, 0, 128, 256))
    stream = server.client().images.edit(
        image=("p.png", png_bytes(original), "image/png"),
        mask=("m.png", png_bytes(mask), "image/png"),
        prompt="a door",
        quality="high",
        stream=True,
        partial_images=1,
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    for event in events:
        image, _ = decode_b64(event.b64_json)
        assert changed_pixels(original, image, where=keep) == 0
