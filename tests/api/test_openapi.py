"""The OpenAPI document describes what gazo really reads and sends (the fuzz gate checks it live)."""

from __future__ import annotations

from typing import Any

import pytest

from gazo.api.app import create_app
from gazo.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_no_operation_documents_fastapi_422_and_every_one_documents_openai_errors(
    document: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in str(document)
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for name, operation in operations(document).items():
        for status in ("400", "413", "431", "500", "503"):
            assert "application/json" in operation["responses"][status]["content"], name
        assert operation["responses"]["400"]["content"]["application/json"]["schema"] == error, name
        if "security" in operation:
            assert {"401", "403", "421"} <= set(operation["responses"]), name


def test_idempotency_reuse_is_the_only_422(document: dict[str, Any]) -> None:
    with_422 = {name for name, operation in operations(document).items() if "422" in operation["responses"]}
    assert with_422 == {
        "POST /v1/images/generations",
        "POST /v1/images/edits",
        "POST /v1/images/variations",
        "POST /v1/responses",
    }


def test_edits_variations_and_verify_document_their_multipart_bodies(document: dict[str, Any]) -> None:
    found = operations(document)
    edit = found["POST /v1/images/edits"]["requestBody"]["content"]["multipart/form-data"]
    assert {"image", "image[]", "mask", "prompt", "n", "size", "input_fidelity", "placement"} <= set(
        edit["schema"]["properties"]
    )
    assert edit["schema"]["required"] == ["prompt"]
    assert edit["encoding"]["mask"]["contentType"] == "image/png"
    assert all(option.get("type") != "null" for option in edit["schema"]["properties"]["n"].get("anyOf", []))
    variation = found["POST /v1/images/variations"]["requestBody"]["content"]["multipart/form-data"]
    assert set(variation["schema"]["properties"]) == {
        "image",
        "model",
        "n",
        "response_format",
        "size",
        "user",
        "seed",
    }
    assert variation["schema"]["required"] == ["image"]
    verify = found["POST /v1/provenance/verify"]["requestBody"]["content"]["multipart/form-data"]
    assert verify["schema"]["properties"]["image"]["format"] == "binary"
    assert verify["schema"]["required"] == ["image"]


def test_streams_and_plain_text_are_documented_with_their_real_media_types(document: dict[str, Any]) -> None:
    found = operations(document)
    generated = found["POST /v1/images/generations"]["responses"]["200"]["content"]
    assert set(generated) == {"application/json", "text/event-stream"}
    assert set(found["GET /v1/provenance/trust-anchor"]["responses"]["200"]["content"]) == {
        "application/x-pem-file"
    }
    assert set(found["GET /metrics"]["responses"]["200"]["content"]) == {"text/plain"}


def test_only_the_public_paths_go_without_a_key(document: dict[str, Any]) -> None:
    public = {name for name, operation in operations(document).items() if "security" not in operation}
    assert public == {
        "GET /healthz",
        "GET /readyz",
        "POST /v1/provenance/verify",
        "GET /v1/provenance/trust-anchor",
        "GET /images/{secret_id}.{extension}",
    }
