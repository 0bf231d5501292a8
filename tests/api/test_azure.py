"""`openai.AzureOpenAI` against a real `gazo serve --require-auth`: Azure's routes, its `api-key` header
and its `api-version` query, in each style the SDK has (endpoint, endpoint + deployment, `/openai/v1/`)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.api.test_error_shape import assert_openai_error
from tests.support.credentials import read_credentials, trust_anchor
from tests.support.keys import create_key
from tests.support.pixels import centre_mask, decode_b64, photo, png_bytes
from tests.support.server import GazoServer

API_VERSION = "2025-04-01-preview"


@pytest.fixture(scope="module")
def azure_key(auth_server: GazoServer) -> str:
    return create_key(auth_server.data_dir, "azure")


def azure(server: GazoServer, key: str, **kwargs: str) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=server.base_url, api_version=API_VERSION, api_key=key, max_retries=0, **kwargs
    )


def assert_signed_image(server: GazoServer, b64: str | None, size: tuple[int, int]) -> None:
    assert b64 is not None
    image, data = decode_b64(b64)
    assert image.size == size
    state, store = read_credentials(data, trust_anchor(server.base_url))
    assert state == "Trusted" and "gazo-builtin" in str(store)


def test_azure_endpoint_client_generates_with_its_api_key_header(
    auth_server: GazoServer, azure_key: str
) -> None:
    """The SDK sends `api-key` and `POST /openai/deployments/gpt-image-1/images/generations?api-version=`."""
    result = azure(auth_server, azure_key).images.generate(
        model="gpt-image-1", prompt="a red apple", size="512x512", quality="low"
    )
    assert_signed_image(auth_server, result.data[0].b64_json, (512, 512))
    assert result.usage is not None and result.usage.output_tokens > 0
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


def test_azure_endpoint_client_edits_with_a_mask_larger_than_a_json_body(
    auth_server: GazoServer, azure_key: str
) -> None:
    """Rewritten before the gate, an Azure edit gets the edits route's body limit, not JSON's 1 MiB."""
    original = png_bytes(photo(768, 768))
    assert len(original) > 1024 * 1024
    mask, _ = centre_mask(768, 768, (256, 256, 512, 512))
    result = azure(auth_server, azure_key).images.edit(
        model="gpt-image-1",
        image=("photo.png", original, "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="a dog",
        size="1024x1024",
        quality="low",
    )
    assert_signed_image(auth_server, result.data[0].b64_json, (1024, 1024))
    assert result.usage is not None and result.usage.input_tokens_details.image_tokens > 0


def test_azure_deployment_client_needs_no_model_in_the_body(auth_server: GazoServer, azure_key: str) -> None:
    client = azure(auth_server, azure_key, azure_deployment="gpt-image-1")
    result = client.images.generate(prompt="a blue door", size="512x512", quality="low")
    assert_signed_image(auth_server, result.data[0].b64_json, (512, 512))
    assert "gpt-image-1" in {model.id for model in client.models.list()}  # GET /openai/models


def test_v1_style_clients_with_bearer_or_api_key(auth_server: GazoServer, azure_key: str) -> None:
    """Azure's newer `/openai/v1/` API: the plain client sends Bearer auth; `AzureOpenAI` with that
    `base_url` sends `api-key` to `/openai/v1/deployments/{model}/images/generations`."""
    base_url = f"{auth_server.base_url}/openai/v1/"
    plain = openai.OpenAI(base_url=base_url, api_key=azure_key, max_retries=0)
    on_azure = openai.AzureOpenAI(base_url=base_url, api_version="preview", api_key=azure_key, max_retries=0)
    for client in (plain, on_azure):
        result = client.images.generate(
            model="gpt-image-1", prompt="a green hill", size="512x512", quality="low"
        )
        assert_signed_image(auth_server, result.data[0].b64_json, (512, 512))


def test_api_version_is_dropped_whatever_its_value(auth_server: GazoServer, azure_key: str) -> None:
    for path in ("/openai/models", "/openai/v1/models", "/openai/models/gpt-image-1"):
        response = httpx.get(
            f"{auth_server.base_url}{path}?api-version=whatever", headers={"api-key": azure_key}, timeout=10
        )
        assert response.status_code == 200, (path, response.text)


def test_a_bad_api_key_is_refused_like_a_bad_bearer_token(auth_server: GazoServer) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        azure(auth_server, "gz-not-a-real-key-at-all").images.generate(model="gpt-image-1", prompt="x")
    assert refused.value.code == "invalid_api_key"
    assert "Incorrect API key provided: gz-not***-all" in refused.value.message


def test_api_key_counts_everywhere_and_authorization_wins_over_it(
    auth_server: GazoServer, azure_key: str
) -> None:
    url = f"{auth_server.base_url}/v1/models"
    assert httpx.get(url, headers={"api-key": azure_key}, timeout=10).status_code == 200
    both = {"authorization": f"Bearer {azure_key}", "api-key": "gz-wrong"}
    assert httpx.get(url, headers=both, timeout=10).status_code == 200
    reversed_ = {"authorization": "Bearer gz-wrong", "api-key": azure_key}
    assert_openai_error(httpx.get(url, headers=reversed_, timeout=10), 401, None, "invalid_api_key")


def test_an_invalid_deployment_name_is_a_400_in_openai_shape(auth_server: GazoServer, azure_key: str) -> None:
    for deployment in ("x" * 101, "bad%00name", "bad%0Aname"):
        response = httpx.post(
            f"{auth_server.base_url}/openai/deployments/{deployment}/images/generations?api-version=1",
            json={"prompt": "x"},
            headers={"api-key": azure_key},
            timeout=10,
        )
        assert_openai_error(response, 400, "deployment", "invalid_value")


def test_the_deployment_selects_the_model_over_the_body(auth_server: GazoServer, azure_key: str) -> None:
    """Needs `routes/images.py` to read `deployment_of`: the body's valid model gives way to the path's."""
    client = azure(auth_server, azure_key, azure_deployment="no-such-deployment")
    with pytest.raises(openai.NotFoundError) as missing:
        client.images.generate(model="gpt-image-1", prompt="a cat", size="512x512", quality="low")
    assert missing.value.code == "model_not_found"
    assert "no-such-deployment" in missing.value.message and "gpt-image-1" in missing.value.message


def test_azure_routes_gazo_does_not_serve_are_404s_naming_the_path(
    auth_server: GazoServer, azure_key: str
) -> None:
    client = azure(auth_server, azure_key)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "gazo serves images only" in missing.value.message
    assert "POST /openai/deployments/gpt-4o/chat/completions" in missing.value.message


def test_responses_with_the_image_generation_tool(auth_server: GazoServer, azure_key: str) -> None:
    """`POST /openai/responses` (the SDK puts no deployment in this path, whatever the client's)."""
    client = azure(auth_server, azure_key, azure_deployment="gpt-image-1")
    response = client.responses.create(
        model="gpt-4.1",
        input="a red apple",
        tools=[{"type": "image_generation", "size": "1024x1024", "quality": "low"}],
    )
    calls = [item for item in response.output if item.type == "image_generation_call"]
    assert len(calls) == 1
    assert_signed_image(auth_server, calls[0].result, (1024, 1024))


def test_a_deployment_responses_route_names_its_model(auth_server: GazoServer, azure_key: str) -> None:
    response = httpx.post(
        f"{auth_server.base_url}/openai/deployments/no-such-deployment/responses?api-version={API_VERSION}",
        json={"model": "gpt-4.1", "input": "a cat", "tools": [{"type": "image_generation"}]},
        headers={"api-key": azure_key},
        timeout=30,
    )
    error = assert_openai_error(response, 404, "model", "model_not_found")
    assert "no-such-deployment" in error["message"] and "aliases: gpt-image-1" in error["message"]
