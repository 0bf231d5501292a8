"""The official Node SDK (npm `openai`, pinned in tests/node/package.json) against the real server: each
script in tests/node prints what the SDK gave it as JSON, and these tests check it as the Python SDK's do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gazo.billing.tokens import count_text_tokens, image_input_tokens, image_output_tokens
from tests.support.credentials import actions, active_manifest, read_credentials, trust_anchor
from tests.support.keys import create_key
from tests.support.node import run_node
from tests.support.pixels import centre_mask, changed_pixels, decode_b64, photo, png_bytes
from tests.support.server import GazoServer


@pytest.fixture(scope="module")
def node_key(auth_server: GazoServer) -> str:
    """A key of its own on the `--require-auth` server, for what must show the key travels (Azure, URLs)."""
    return create_key(auth_server.data_dir, "node-sdk")


def trusted_manifest(data: bytes, base_url: str) -> dict[str, Any]:
    """The active manifest of `data`, whose credentials must read Trusted with the server's root."""
    state, store = read_credentials(data, trust_anchor(base_url))
    assert state == "Trusted"
    return active_manifest(store)


def check_usage(usage: dict[str, Any], *, text: str, image_in: int = 0, image_out: int) -> None:
    assert usage["input_tokens_details"] == {"text_tokens": count_text_tokens(text), "image_tokens": image_in}
    assert usage["input_tokens"] == count_text_tokens(text) + image_in
    assert usage["output_tokens"] == image_out
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# -- the Images API -----------------------------------------------------------------------------------


def test_generate(server: GazoServer) -> None:
    prompt = "a lighthouse at dusk"
    result = run_node("generate.mjs", server.base_url, prompt=prompt, size="256x256")
    assert len(result["data"]) == 1
    image, data = decode_b64(result["data"][0]["b64_json"])
    assert image.format == "PNG" and image.size == (256, 256)
    assert actions(trusted_manifest(data, server.base_url))[0] == "c2pa.created"
    assert (result["size"], result["quality"], result["output_format"]) == ("256x256", "low", "png")
    check_usage(result["usage"], text=prompt, image_out=image_output_tokens(256, 256, "low"))


def test_edit_uploads_through_to_file(server: GazoServer, tmp_path: Path) -> None:
    original = photo()
    mask, keep = centre_mask(256, 256, (64, 64, 192, 192))
    (tmp_path / "photo.png").write_bytes(png_bytes(original))
    (tmp_path / "mask.png").write_bytes(png_bytes(mask))
    prompt = "a red balloon"
    result = run_node(
        "edit.mjs",
        server.base_url,
        image=str(tmp_path / "photo.png"),
        mask=str(tmp_path / "mask.png"),
        prompt=prompt,
    )
    edited, data = decode_b64(result["data"][0]["b64_json"])
    assert edited.size == (256, 256) and result["size"] == "256x256"
    assert changed_pixels(original, edited, where=keep) == 0
    assert changed_pixels(original, edited, where=~keep) > 0
    assert "c2pa.edited" in actions(trusted_manifest(data, server.base_url))
    usage = result["usage"]
    assert usage["input_tokens_details"]["image_tokens"] == image_input_tokens(256, 256)
    assert usage["input_tokens"] == image_input_tokens(256, 256) + count_text_tokens(prompt)


def test_streamed_generation_yields_a_partial_then_the_image(server: GazoServer) -> None:
    prompt = "a pine forest"
    events = run_node("stream.mjs", server.base_url, prompt=prompt, size="256x256")["events"]
    assert [e["type"] for e in events] == ["image_generation.partial_image", "image_generation.completed"]
    partial, completed = events
    assert partial["partial_image_index"] == 0
    final, data = decode_b64(completed["b64_json"])
    trusted_manifest(data, server.base_url)
    assert final.size == decode_b64(partial["b64_json"])[0].size == (256, 256)
    check_usage(completed["usage"], text=prompt, image_out=image_output_tokens(256, 256, "high") + 100)


def test_variation_uploads_through_to_file(server: GazoServer, tmp_path: Path) -> None:
    (tmp_path / "cup.png").write_bytes(png_bytes(photo(256, 256, seed=3)))
    result = run_node("variation.mjs", server.base_url, image=str(tmp_path / "cup.png"), size="256x256")
    assert len(result["data"]) == 1
    image, data = decode_b64(result["data"][0]["b64_json"])
    assert image.size == (256, 256)
    trusted_manifest(data, server.base_url)


def test_dall_e_3_url_is_fetched_without_a_key(auth_server: GazoServer, node_key: str) -> None:
    result = run_node("dalle.mjs", auth_server.base_url, node_key, prompt="a paper boat on a pond")
    item = result["response"]["data"][0]
    assert isinstance(item.get("url"), str) and item["url"].startswith("http"), item.keys()
    assert isinstance(item["revised_prompt"], str) and item["revised_prompt"]
    fetched = result["fetched"]
    assert fetched["status"] == 200 and str(fetched["content_type"]).startswith("image/")
    image, data = decode_b64(fetched["b64"])
    assert image.size == (1024, 1024)  # dall-e-3's default size
    trusted_manifest(data, auth_server.base_url)


def test_azure_client_sends_its_api_key_to_the_deployment_route(
    auth_server: GazoServer, node_key: str
) -> None:
    prompt = "a yellow kite"
    result = run_node("azure.mjs", auth_server.base_url, node_key, prompt=prompt, size="1024x1024")
    image, data = decode_b64(result["data"][0]["b64_json"])
    assert image.size == (1024, 1024)
    trusted_manifest(data, auth_server.base_url)
    check_usage(result["usage"], text=prompt, image_out=image_output_tokens(1024, 1024, "low"))


# -- the Responses API's image_generation tool ------------------------------------------------------


def image_call(response: dict[str, Any]) -> dict[str, Any]:
    calls = [item for item in response["output"] if item["type"] == "image_generation_call"]
    assert len(calls) == 1, response["output"]
    return calls[0]


def test_responses_image_tool(server: GazoServer) -> None:
    response = run_node("responses.mjs", server.base_url, prompt="a red fox in snow", size="512x512")
    assert response["status"] == "completed"
    call = image_call(response)
    assert call["status"] == "completed" and call["id"]
    assert isinstance(call["revised_prompt"], str) and call["revised_prompt"]
    assert (call["size"], call["quality"], call["output_format"]) == ("512x512", "low", "png")
    assert call["background"] in ("opaque", "transparent")
    image, data = decode_b64(call["result"])
    assert image.format == "PNG" and image.size == (512, 512)
    trusted_manifest(data, server.base_url)
    assert any(item["type"] == "message" for item in response["output"])
    usage = response["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_responses_stream_sends_the_image_call_events(server: GazoServer) -> None:
    events = run_node("responses_stream.mjs", server.base_url, prompt="a red fox in snow", size="512x512")
    types = [event["type"] for event in events["events"]]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    expected = [
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
        "response.output_item.done",
    ]
    positions = [types.index(name) if name in types else -1 for name in expected]
    assert -1 not in positions and positions == sorted(positions), types
    by_type = {event["type"]: event for event in events["events"]}
    partial, _ = decode_b64(by_type["response.image_generation_call.partial_image"]["partial_image_b64"])
    assert partial.size == (512, 512)
    done = [e["item"] for e in events["events"] if e["type"] == "response.output_item.done"]
    calls = [item for item in done if item["type"] == "image_generation_call"]
    assert len(calls) == 1 and calls[0]["status"] == "completed"
    _, data = decode_b64(calls[0]["result"])
    trusted_manifest(data, server.base_url)
    completed = by_type["response.completed"]["response"]
    assert image_call(completed)["result"] == calls[0]["result"] and completed["usage"]["total_tokens"] > 0


def test_responses_follow_up_edits_the_previous_image(server: GazoServer) -> None:
    turns = run_node(
        "responses_follow_up.mjs",
        server.base_url,
        prompt="a red fox in snow",
        follow_up="make it blue",
        size="512x512",
    )
    first, second = turns["first"], turns["second"]
    assert second["previous_response_id"] == first["id"]
    before, _ = decode_b64(image_call(first)["result"])
    after, data = decode_b64(image_call(second)["result"])
    assert image_call(second)["status"] == "completed"
    assert "c2pa.edited" in actions(trusted_manifest(data, server.base_url))
    assert after.size == before.size
    assert not np.array_equal(np.asarray(before.convert("RGB")), np.asarray(after.convert("RGB")))
