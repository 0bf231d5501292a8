"""Exact text on a diffusion model: quoted or `text` strings come back letter for letter.

Through the real server on the tiny random SD model, whose noise-like pictures are the hardest ground
for legible text; OCR (RapidOCR, see tests/support/ocr.py) must read every string with no error.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import openai
import pytest
from PIL import Image

from tests.support.ocr import character_error_rate, ocr_reader
from tests.support.pixels import changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer

LATIN = (
    "Summer Sale 50% OFF",
    "Grand Opening",
    "Fresh Coffee Daily",
    "Open 24 Hours",
    "NEW ARRIVALS",
    "Free Wi-Fi",
    "Happy Birthday Anna",
    "Book Now & Save",
    "Live Music Tonight",
    "Limited Edition",
    "Welcome Home",
    "Best Price $19.99",
    "Closed on Sundays",
    "Think Big",
    "Hello World",
    "Last Chance!",
    "Buy 2 Get 1 Free",
    "Made in Japan",
    "Winter Collection",
    "Team Meeting 3PM",
    "Good Morning",
    "Save the Date",
)
JAPANESE = (
    "夏祭り開催中",
    "本日限定セール",
    "東京タワー展望台",
    "営業中",
    "新商品入荷",
    "ありがとう",
    "お誕生日おめでとう",
    "期間限定",
    "春のキャンペーン",
    "日本酒フェア",
    "駅前ラーメン",
    "秋の味覚",
)
#: How each string reaches the server, in turn: quoted in the prompt three ways, or as the `text` field.
LATIN_WAYS = ("'{}'", '"{}"', "“{}”", None)
JAPANESE_WAYS = ("「{}」", None)


def generate_with_text(server: GazoServer, text: str, way: str | None, seed: int) -> dict[str, Any]:
    """One 512x512 low-quality generation carrying `text`; returns what OCR read and the response."""
    prompt = f"a poster with the headline {way.format(text)}" if way else "a poster"
    extra: dict[str, Any] = {"seed": seed} if way else {"seed": seed, "text": text}
    result = server.client().images.generate(prompt=prompt, size="512x512", quality="low", extra_body=extra)
    image, _ = decode_b64(result.data[0].b64_json)  # type: ignore[arg-type]
    return {"read": ocr_reader()(image), "gazo": (result.model_extra or {}).get("gazo")}


def read_all(server: GazoServer, texts: tuple[str, ...], ways: tuple[str | None, ...]) -> list[float]:
    started, rates, misread = time.monotonic(), [], []
    for index, text in enumerate(texts):
        way = ways[index % len(ways)]
        outcome = generate_with_text(server, text, way, seed=index)
        expected = {"mode": "typeset+harmonise", "strings": [text], "left_to_model": []}
        assert outcome["gazo"]["text"] == expected
        rates.append(character_error_rate(text, outcome["read"]))
        if rates[-1]:
            misread.append((text, outcome["read"]))
    elapsed = time.monotonic() - started
    print(f"{len(texts)} strings, mean CER {np.mean(rates):.4f}, {elapsed:.1f} s")
    assert not misread, f"OCR read these differently: {misread}"
    return rates


def test_latin_text_reads_back_exactly(server: GazoServer) -> None:
    assert len(LATIN) >= 20
    assert max(read_all(server, LATIN, LATIN_WAYS)) == 0


def test_japanese_text_reads_back_exactly(server: GazoServer) -> None:
    assert len(JAPANESE) >= 10
    assert max(read_all(server, JAPANESE, JAPANESE_WAYS)) == 0


def test_text_in_a_masked_edit_is_exact_and_stays_inside_the_mask(server: GazoServer) -> None:
    original = photo(512, 512)
    alpha = np.full((512, 512), 255, np.uint8)
    alpha[256:, :] = 0  # edit the bottom half
    mask = Image.fromarray(np.dstack([np.zeros((512, 512, 3), np.uint8), alpha]), "RGBA")
    result = server.client().images.edit(
        image=("photo.png", png_bytes(original), "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="add the sign 「本日休業」 to the wall",
        quality="low",
        extra_body={"seed": 4, "text": "Back at 5PM"},
    )
    edited, _ = decode_b64(result.data[0].b64_json)  # type: ignore[arg-type]
    keep = alpha == 255
    assert changed_pixels(original, edited, where=keep) == 0
    assert character_error_rate("本日休業Backat5PM", ocr_reader()(edited.crop((0, 256, 512, 512)))) == 0
    report = (result.model_extra or {})["gazo"]["text"]
    assert report["strings"] == ["本日休業", "Back at 5PM"]


def test_a_streamed_image_reports_its_text_on_the_completed_event(server: GazoServer) -> None:
    events = list(
        server.client().images.generate(
            prompt="a label 'Jam'", size="256x256", quality="low", stream=True, extra_body={"text": "2026"}
        )
    )
    completed = events[-1]
    assert completed.type == "image_generation.completed"
    assert (completed.model_extra or {})["gazo"]["text"]["strings"] == ["Jam", "2026"]


def test_quoted_text_without_a_font_is_left_to_the_model_and_said_so(server: GazoServer) -> None:
    result = server.client().images.generate(
        prompt="a card that says 'Party 🎉' and 'Hello'", size="256x256", quality="low"
    )
    report = (result.model_extra or {})["gazo"]["text"]
    assert report == {"mode": "typeset+harmonise", "strings": ["Hello"], "left_to_model": ["Party 🎉"]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Party 🎉", "no font"),
        ("two\nlines", "control characters"),
        ("x" * 201, "at most 200"),
        (["a", "b", "c", "d", "e"], "At most 4 texts"),
    ],
)
def test_text_that_cannot_be_set_exactly_is_refused_by_name(
    server: GazoServer, text: str | list[str], problem: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        server.client().images.generate(prompt="a sign", extra_body={"text": text})
    assert raised.value.param == "text" and problem in str(raised.value.message)
