"""OpenAI routes gazo does not serve (chat, embeddings, audio, files, ...) answer a 404 in OpenAI's shape
that says gazo serves images and names what it serves; an unknown model names the models and aliases."""

from __future__ import annotations

import httpx
import openai
import pytest

from gazo.errors import ModelNotFound
from tests.api.test_error_shape import assert_openai_error
from tests.support.server import GazoServer

SERVED = (
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/images/variations",
    "/v1/responses",
    "/v1/files",
    "/v1/batches",
    "/v1/models",
)


def assert_says_images_only(message: str, method_and_path: str) -> None:
    assert "gazo serves images only" in message
    assert f"Invalid URL ({method_and_path})" in message
    for path in SERVED:
        assert path in message


def test_chat_completions_raise_not_found_saying_gazo_serves_images(server: GazoServer) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        server.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert_says_images_only(missing.value.message, "POST /v1/chat/completions")
    assert missing.value.code == "not_found"


def test_embeddings_raise_not_found_saying_gazo_serves_images(server: GazoServer) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        server.client().embeddings.create(model="text-embedding-3-small", input="hello")
    assert_says_images_only(missing.value.message, "POST /v1/embeddings")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/completions"),
        ("POST", "/v1/audio/speech"),
        ("POST", "/v1/audio/transcriptions"),
        ("POST", "/v1/moderations"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/fine_tuning/jobs"),
        ("GET", "/v1/assistants"),
        ("POST", "/v1/threads"),
        ("GET", "/v1/vector_stores"),
        ("POST", "/v1/realtime/sessions"),
        ("GET", "/v2/anything"),
    ],
)
def test_every_unserved_route_is_a_404_in_openai_shape(server: GazoServer, method: str, path: str) -> None:
    response = httpx.request(method, f"{server.base_url}{path}", json={}, timeout=10)
    error = assert_openai_error(response, 404, None, "not_found")
    assert error["type"] == "invalid_request_error"
    assert_says_images_only(error["message"], f"{method} {path}")


def test_the_echoed_path_is_clipped_and_printable(server: GazoServer) -> None:
    response = httpx.get(f"{server.base_url}/v1/%1b%5B31m%00{'a' * 500}", timeout=10)
    message = assert_openai_error(response, 404, None, "not_found")["message"]
    assert "a" * 500 not in message and "..." in message
    assert all(char.isprintable() for char in message)


def test_an_anonymous_client_still_gets_401_first(auth_server: GazoServer) -> None:
    response = httpx.post(f"{auth_server.base_url}/v1/chat/completions", json={}, timeout=10)
    assert_openai_error(response, 401, None, "invalid_api_key")


def test_model_not_found_lists_the_models_then_their_aliases(server: GazoServer) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        server.client().images.generate(model="dall-e-9", prompt="x")
    assert missing.value.code == "model_not_found"
    assert "Available models: gazo-tiny-sd; aliases: gpt-image-1, " in missing.value.message


def test_model_not_found_lists_at_most_thirty_names() -> None:
    aliases = [f"alias-{number}" for number in range(40)]
    message = ModelNotFound("x", available=["one", "two"], aliases=aliases).message
    assert message.endswith("aliases: " + ", ".join(aliases[:28]) + " and 12 more.")
    assert message.startswith("The model `x` does not exist. Available models: one, two; ")
