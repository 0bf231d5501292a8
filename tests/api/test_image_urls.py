"""`response_format: url`: gazo keeps the signed image and serves it, without a key, until it expires."""

from __future__ import annotations

import base64
import io
import re

import httpx
import openai
import pytest
from PIL import Image

from tests.support.credentials import read_credentials, trust_anchor
from tests.support.pixels import photo, png_bytes
from tests.support.server import GazoServer

_URL = re.compile(r"/images/(img_[A-Za-z0-9_-]{43})\.(png|jpeg|webp)$")


def fetch(url: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, url, timeout=30)  # no Authorization header: the URL is the credential


def test_dall_e_3_url_serves_the_signed_image_without_a_key(server: GazoServer) -> None:
    result = server.client().images.generate(
        model="dall-e-3", prompt="a paper boat", size="1024x1024", quality="standard", response_format="url"
    )
    (item,) = result.data
    assert item.b64_json is None and item.url is not None
    assert item.url.startswith(server.base_url + "/images/img_") and _URL.search(item.url)
    answer = fetch(item.url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    cache = re.fullmatch(r"private, max-age=(\d+)", answer.headers["cache-control"])
    assert cache and 3500 <= int(cache.group(1)) <= 3600  # the default lifetime: one hour
    assert Image.open(io.BytesIO(answer.content)).size == (1024, 1024)
    state, _ = read_credentials(answer.content, trust_anchor(server.base_url))
    assert state == "Trusted"
    head = fetch(item.url, "HEAD")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(answer.content))


def test_urls_are_unguessable_and_a_wrong_one_is_a_404_in_openai_shape(server: GazoServer) -> None:
    result = server.client().images.generate(
        prompt="a kite", size="64x64", quality="low", n=2, response_format="url"
    )
    ids = [_URL.search(str(item.url)).group(1) for item in result.data]  # type: ignore[union-attr]
    assert ids[0] != ids[1]
    assert all(len(base64.urlsafe_b64decode(secret[4:] + "=")) == 32 for secret in ids)  # 256 random bits
    url = str(result.data[0].url)
    tampered = url.replace(ids[0], ids[0][:-1] + ("A" if ids[0][-1] != "A" else "B"))
    for wrong in (tampered, url.replace(".png", ".jpeg"), f"{server.base_url}/images/img_short.png"):
        answer = fetch(wrong)
        assert answer.status_code == 404, wrong
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "not_found" and "expired" in error["message"]
    assert fetch(url).status_code == 200


def test_url_works_for_edits_and_jpeg(server: GazoServer) -> None:
    result = server.client().images.edit(
        image=("in.png", png_bytes(photo(128, 128)), "image/png"),
        prompt="autumn leaves",
        output_format="jpeg",
        response_format="url",
    )
    url = str(result.data[0].url)
    assert url.endswith(".jpeg") and result.data[0].b64_json is None
    answer = fetch(url)
    assert answer.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(answer.content)).size == (128, 128)


def test_an_idempotent_replay_gets_fresh_urls_for_the_same_bytes(server: GazoServer) -> None:
    client = server.client()
    headers = {"Idempotency-Key": "url-replay-1"}
    ask = dict(prompt="a comet", size="64x64", quality="low", response_format="url", extra_headers=headers)
    first = client.images.generate(**ask)  # type: ignore[arg-type]
    again = client.images.generate(**ask)  # type: ignore[arg-type]
    assert first.data[0].url != again.data[0].url
    assert first.created == again.created
    assert fetch(str(first.data[0].url)).content == fetch(str(again.data[0].url)).content


def test_url_cannot_be_streamed(server: GazoServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        server.client().images.generate(prompt="x", size="64x64", response_format="url", stream=True)
    assert caught.value.param == "response_format"
