"""Every error the Images API can produce: status, OpenAI's body shape, and the SDK's exception class."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest
from PIL import Image

from tests.support.pixels import bomb_png, centre_mask, photo, png_bytes
from tests.support.server import GazoServer


def assert_openai_error(
    response: httpx.Response, status: int, param: str | None, code: str | None = None
) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    return error


GENERATION_ERRORS = [
    ({}, 400, "prompt", "missing_required_parameter"),
    ({"prompt": ""}, 400, "prompt", "invalid_value"),
    ({"prompt": "x" * 32001}, 400, "prompt", "invalid_value"),
    ({"prompt": "x", "n": 0}, 400, "n", "invalid_value"),
    ({"prompt": "x", "n": 11}, 400, "n", "invalid_value"),
    ({"prompt": "x", "n": "two"}, 400, "n", "invalid_value"),
    ({"prompt": "x", "size": "huge"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "size": "1000x1000"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "size": "1024x4000"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "size": "3840x2160"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "quality": "ultra"}, 400, "quality", "invalid_value"),
    ({"prompt": "x", "quality": "xhigh"}, 400, "quality", "invalid_value"),
    (
        {"prompt": "x", "background": "transparent", "output_format": "jpeg"},
        400,
        "background",
        "invalid_value",
    ),
    ({"prompt": "x", "background": "purple"}, 400, "background", "invalid_value"),
    ({"prompt": "x", "output_format": "bmp"}, 400, "output_format", "invalid_value"),
    ({"prompt": "x", "output_format": "gif"}, 400, "output_format", "unsupported_parameter"),
    ({"prompt": "x", "output_format": "svg"}, 400, "output_format", "unsupported_parameter"),
    ({"prompt": "x", "output_compression": 101, "output_format": "jpeg"}, 400, "output_compression", None),
    ({"prompt": "x", "output_compression": 50}, 400, "output_compression", "unsupported_parameter"),
    ({"prompt": "x", "moderation": "none"}, 400, "moderation", "invalid_value"),
    ({"prompt": "x", "partial_images": 4, "stream": True}, 400, "partial_images", "invalid_value"),
    ({"prompt": "x", "partial_images": 2}, 400, "partial_images", "unsupported_parameter"),
    (
        {"prompt": "x", "response_format": "url", "stream": True},
        400,
        "response_format",
        "unsupported_parameter",
    ),
    ({"prompt": "x", "style": "bold"}, 400, "style", "invalid_value"),
    ({"prompt": "x", "complexity": "high"}, 400, "complexity", "unsupported_parameter"),
    ({"prompt": "x", "frame_count": 4}, 400, "frame_count", "unsupported_parameter"),
    ({"prompt": "x", "svg": {"model": "y"}}, 400, "svg", "unsupported_parameter"),
    ({"prompt": "x", "colour": "red"}, 400, "colour", "unknown_parameter"),
    ({"prompt": "x", "text": "party 🎉"}, 400, "text", None),
    ({"prompt": "x", "text": ["a", "b", "c", "d", "e"]}, 400, "text", None),
    ({"prompt": "x", "text": 5}, 400, "text", "invalid_value"),
    ({"prompt": "x", "model": "dall-e-9"}, 404, "model", "model_not_found"),
    # issue #15: NUL (PostgreSQL text cannot hold it) and other control characters in free text
    ({"prompt": "a cat\u0000"}, 400, "prompt", "invalid_value"),
    ({"prompt": "x", "user": "bob\u0007"}, 400, "user", "invalid_value"),
    ({"prompt": "x", "safety_identifier": "\u001b[31m"}, 400, "safety_identifier", "invalid_value"),
    ({"prompt": "x", "model": "gpt-image-1\u0000"}, 400, "model", "invalid_value"),
    # issue #15: booleans are not numbers; sizes are ASCII digits only
    ({"prompt": "x", "n": True}, 400, "n", "invalid_value"),
    ({"prompt": "x", "seed": True}, 400, "seed", "invalid_value"),
    ({"prompt": "x", "output_compression": True, "output_format": "jpeg"}, 400, "output_compression", None),
    ({"prompt": "x", "size": "\uff16\uff14x\uff16\uff14"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "size": "\u0666\u0664x\u0666\u0664"}, 400, "size", "invalid_size"),
    ({"prompt": "x", "size": "64x64\n"}, 400, "size", "invalid_size"),
]


@pytest.mark.parametrize(("body", "status", "param", "code"), GENERATION_ERRORS)
def test_generation_errors_have_openai_shape(
    server: GazoServer, body: dict, status: int, param: str | None, code: str | None
) -> None:
    response = httpx.post(f"{server.base_url}/v1/images/generations", json=body, timeout=30)
    assert_openai_error(response, status, param, code)


@pytest.mark.parametrize("body", [b"{not json", b'{"prompt": "a', b'{"prompt": "x"', b"[1"])
def test_malformed_json_is_a_400_naming_no_param(server: GazoServer, body: bytes) -> None:
    """Issue #15: the JSON decoder's character offset once leaked into `param` ("11")."""
    response = httpx.post(
        f"{server.base_url}/v1/images/generations",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    error = assert_openai_error(response, 400, None)
    assert error["code"] is None and error["message"].startswith("We could not parse the JSON body")


def edit_files(**overrides: object) -> list[tuple[str, tuple[str, bytes, str]]]:
    return overrides.get("files") or [("image", ("p.png", png_bytes(photo(64, 64)), "image/png"))]  # type: ignore[return-value]


EDIT_ERRORS = [
    ("no image", [], {"prompt": "x"}, 400, "image"),
    ("not an image", [("image", ("p.png", b"hello world", "image/png"))], {"prompt": "x"}, 400, "image"),
    (
        "gif input",
        [("image", ("p.gif", png_bytes(photo(64, 64), "GIF"), "image/gif"))],
        {"prompt": "x"},
        400,
        "image",
    ),
    ("bomb", [("image", ("b.png", bomb_png(20000, 20000), "image/png"))], {"prompt": "x"}, 400, "image"),
    (
        "mask wrong size",
        [
            ("image", ("p.png", png_bytes(photo(64, 64)), "image/png")),
            ("mask", ("m.png", png_bytes(centre_mask(32, 32, (0, 0, 8, 8))[0]), "image/png")),
        ],
        {"prompt": "x"},
        400,
        "mask",
    ),
    (
        "mask without alpha",
        [
            ("image", ("p.png", png_bytes(photo(64, 64)), "image/png")),
            ("mask", ("m.png", png_bytes(Image.new("L", (64, 64))), "image/png")),
        ],
        {"prompt": "x"},
        400,
        "mask",
    ),
    (
        "too many images",
        [("image[]", (f"p{i}.png", png_bytes(photo(32, 32)), "image/png")) for i in range(17)],
        {"prompt": "x"},
        400,
        "image",
    ),
    ("missing prompt", None, {}, 400, "prompt"),
    ("bad n", None, {"prompt": "x", "n": "0"}, 400, "n"),
    ("bad fidelity", None, {"prompt": "x", "input_fidelity": "medium"}, 400, "input_fidelity"),
    ("unknown field", None, {"prompt": "x", "strength": "0.5"}, 400, "strength"),
    ("NUL in prompt", None, {"prompt": "a\x00b"}, 400, "prompt"),
    ("non-ASCII digits in size", None, {"prompt": "x", "size": "\uff16\uff14x\uff16\uff14"}, 400, "size"),
    (
        "over the request's pixel budget",  # 16 headers of 6400x6200 (each within max_input_pixels)
        [("image[]", (f"b{i}.png", bomb_png(6400, 6200), "image/png")) for i in range(16)],
        {"prompt": "x"},
        400,
        "image",
    ),
]


@pytest.mark.parametrize(
    ("case", "files", "data", "status", "param"), EDIT_ERRORS, ids=[c[0] for c in EDIT_ERRORS]
)
def test_edit_errors_have_openai_shape(
    server: GazoServer, case: str, files: list | None, data: dict, status: int, param: str
) -> None:
    files = edit_files() if files is None else files
    response = httpx.post(f"{server.base_url}/v1/images/edits", data=data, files=files or None, timeout=30)
    if not files:  # no file at all: send a multipart body with the fields only
        response = httpx.post(
            f"{server.base_url}/v1/images/edits", files={"prompt": (None, data["prompt"])}, timeout=30
        )
    assert_openai_error(response, status, param)


def test_upload_over_the_limit_is_413(server: GazoServer) -> None:
    big = png_bytes(photo(64, 64)) + b"\x00" * (51 * 1024 * 1024)
    response = httpx.post(
        f"{server.base_url}/v1/images/edits",
        data={"prompt": "x"},
        files=[("image", ("big.png", big, "image/png"))],
        timeout=60,
    )
    assert_openai_error(response, 413, "image", "payload_too_large")


def test_sdk_raises_its_own_classes(server: GazoServer) -> None:
    client = server.client()
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(prompt="x", size="7x7")
    assert bad.value.code == "invalid_size" and bad.value.param == "size"
    with pytest.raises(openai.NotFoundError):
        client.images.generate(prompt="x", model="missing")
    with pytest.raises(openai.BadRequestError) as bad_edit:
        client.images.edit(image=("x.png", b"not a png", "image/png"), prompt="x")
    assert bad_edit.value.param == "image"


def test_unknown_route_is_404_in_openai_shape(server: GazoServer) -> None:
    response = httpx.get(f"{server.base_url}/v1/nothing", timeout=10)
    assert_openai_error(response, 404, None, "not_found")


def test_b64_is_valid_for_a_good_request(server: GazoServer) -> None:
    response = httpx.post(
        f"{server.base_url}/v1/images/generations",
        json={"prompt": "x", "size": "64x64", "quality": "low"},
        timeout=60,
    )
    assert response.status_code == 200
    assert base64.b64decode(response.json()["data"][0]["b64_json"]).startswith(b"\x89PNG")
