"""The OpenAPI document, made to tell the truth: what gazo really sends and really reads.

FastAPI, left alone, documents a 422 `HTTPValidationError` that gazo never sends (validation errors
are 400 in OpenAI's error body) and no request body for the routes that parse multipart by hand.
Routes declare their own statuses (`responses=errors(...)`) and hand-parsed bodies (`openapi_extra=`);
`install_openapi` adds what every route shares: the request gate's refusals (key, open mode, body and
header limits), 400 for a bad parameter, 500 for the unexpected, 503 for a request a shutdown cut off,
`X-Request-Id`, and the bearer-key security scheme.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from gazo.api.gate import REQUEST_ID_PATTERN, needs_key
from gazo.api.protocol import ImageCreateVariationRequest, ImageEditRequest, ImagesResponse
from gazo.settings import ServerSettings

_REF = "#/components/schemas/"
_SECURITY = "ApiKeyAuth"
_AZURE_SECURITY = "AzureApiKey"  # the same key, in Azure OpenAI's `api-key` header

#: What each error status means here, for the document's `description`s.
_STATUS_TEXT = {
    400: "Invalid request: a parameter is missing, unknown or has a value gazo cannot honour.",
    401: "Missing, wrong or revoked API key.",
    403: "The key may not do this (or, in open mode, a request from another site's page).",
    404: "No such model.",
    408: "The request body stopped arriving.",
    409: "A request with this Idempotency-Key is still running; retry after `Retry-After` seconds.",
    413: "The request body or an upload is larger than accepted.",
    421: "Open mode (no keys) answers only to loopback host names.",
    422: "The Idempotency-Key was used, in the last 24 hours, by a request with another body.",
    429: "Rate limit, budget, or the model's queue is full (`Retry-After`).",
    431: "The request's headers are larger than `server.max_header_bytes` or `server.max_headers`.",
    500: "Unexpected server error; the message carries a request id.",
    503: "gazo cannot serve now (starting, shutting down, database unavailable); retry after "
    "`Retry-After` seconds.",
    504: "The request ran past `server.request_timeout_s` and was cancelled.",
}


class Error(BaseModel):
    """OpenAI's error object: `type`, and `param`/`code` when one field or reason is to blame."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error gazo sends, whatever its status: the body the openai SDK parses."""

    error: Error


class Readiness(BaseModel):
    """`GET /readyz`: 200 when every model to load at start has loaded (a model loaded on demand later
    leaves it 200), none failed and the database answers, else 503."""

    ready: bool
    #: `ready`, `loading`, `unloaded` (loads on its next request) or `failed: why`, per model.
    models: dict[str, str]
    queue_depth: dict[str, int]
    #: Per device: `budget_bytes` and `used_bytes` of the models' weights.
    memory: dict[str, dict[str, int]]
    database: str


class ImageStreamEvent(BaseModel):
    """One image event of a stream (openai-python `ImageGenStreamEvent` / `ImageEditStreamEvent`)."""

    type: Literal[
        "image_generation.partial_image",
        "image_generation.completed",
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    b64_json: str
    background: Literal["transparent", "opaque"]
    created_at: int
    output_format: Literal["png", "webp", "jpeg"]
    quality: Literal["low", "medium", "high", "xhigh", "max"]
    size: str
    partial_image_index: int | None = None
    usage: dict[str, Any] | None = None
    safety_identifier: str | None = None
    gazo: dict[str, Any] | None = None


class ErrorEvent(BaseModel):
    """A failure after the stream started: the error body a response would have had."""

    type: Literal["error"]
    error: Error


#: Models only this document names (routes build these bodies as dicts), added to its components.
_DOCUMENT_MODELS = (ErrorResponse, ImageStreamEvent, ErrorEvent)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses carry OpenAI's error body."""
    return {status: {"model": ErrorResponse, "description": _STATUS_TEXT[status]} for status in statuses}


#: The 200 of the image routes: JSON, or Server-Sent Events with `stream: true`.
IMAGES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ImagesResponse,
        "description": "The images (JSON), or with `stream: true` their events (`image_generation.*`, "
        "`image_edit.*`, `error`).",
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {
                                "oneOf": [{"$ref": _REF + "ImageStreamEvent"}, {"$ref": _REF + "ErrorEvent"}]
                            },
                        },
                    },
                    "required": ["event", "data"],
                }
            }
        },
    },
    **errors(404, 409, 422, 429, 504),
}

#: The 200 of `POST /v1/responses`: a Response (openai-python's `Response`), or its `response.*` events.
RESPONSES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The Response, with an `image_generation_call` item and a `message` (JSON), or with "
        "`stream: true` its events (`response.created` ... `response.completed`, or `response.failed`).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    },
    **errors(404, 409, 422, 429, 504),
}

#: `/readyz` answers 503 with its own body when not ready (and the error body while gazo starts or stops).
READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "Every model is loaded and the database answers."},
    503: {
        "description": "Not ready: a model is still loading or failed, or the database does not answer.",
        "content": {
            "application/json": {
                "schema": {"anyOf": [{"$ref": _REF + "Readiness"}, {"$ref": _REF + "ErrorResponse"}]}
            }
        },
    },
}

#: `openapi_extra=` for the image routes: a retry with the same key and body gets the same images.
IDEMPOTENCY_KEY: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "A retry with the same key and body within 24 h gets the first response again; "
            "the same key with another body is refused (422), one still running answers 409.",
        }
    ]
}
_REQUEST_ID = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    "description": "Your id for this request, echoed in `x-request-id` (one is made when absent).",
}

_BINARY = {"type": "string", "format": "binary"}
_IMAGE_TYPES = "image/png, image/jpeg, image/webp"


def multipart(schema: dict[str, Any], encoding: dict[str, str]) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads `multipart/form-data` itself; `encoding`: part → types."""
    parts = {name: {"contentType": types} for name, types in encoding.items()}
    content = {"schema": schema, "encoding": parts}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": content}}}


def edit_form() -> dict[str, Any]:
    """`POST /v1/images/edits`: one `image`, or several as `image[]`, an optional `mask`, and the
    scalar fields of `ImageEditRequest` as form fields (absent rather than null; `text` may repeat)."""
    files = {
        "image": {**_BINARY, "description": "The image to edit (png, jpeg or webp)."},
        "image[]": {"type": "array", "items": _BINARY, "minItems": 1, "description": "Several images."},
        "mask": {**_BINARY, "description": "PNG whose transparent pixels mark where to edit."},
    }
    schema = _upload_schema(ImageEditRequest, files, required=[])
    schema["anyOf"] = [{"required": ["image"]}, {"required": ["image[]"]}]
    return multipart(schema, {"image": _IMAGE_TYPES, "image[]": _IMAGE_TYPES, "mask": "image/png"})


def variation_form() -> dict[str, Any]:
    """`POST /v1/images/variations`: one `image` and the scalar fields of `ImageCreateVariationRequest`."""
    files = {"image": {**_BINARY, "description": "The image to vary (png, jpeg or webp)."}}
    schema = _upload_schema(ImageCreateVariationRequest, files, required=["image"])
    return multipart(schema, {"image": _IMAGE_TYPES})


def _upload_schema(model: type[BaseModel], files: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    """A form of `files` and `model`'s fields as form fields (absent rather than null)."""
    fields = model.model_json_schema()
    properties = {name: _form_field(field) for name, field in fields["properties"].items()}
    return {
        "type": "object",
        "properties": {**files, **properties},
        "required": [*required, *fields.get("required", [])],
        "additionalProperties": False,
    }


def verify_form() -> dict[str, Any]:
    """`POST /v1/provenance/verify`: the `image` to read, optional extra root certificates."""
    schema = {
        "type": "object",
        "properties": {
            "image": {**_BINARY, "description": "Any file c2pa reads (png, jpeg, webp, ...)."},
            "trust": {"type": "string", "description": "Extra trusted roots (PEM), as text or a file."},
        },
        "required": ["image"],
        "additionalProperties": False,
    }
    return multipart(schema, {"image": "image/*"})


def _form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field cannot be null, only absent: drop the `null` branch and the null default."""
    field = {key: value for key, value in schema.items() if key not in ("default", "title")}
    options = [option for option in field.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        field.update(options[0])
    elif options:
        field["anyOf"] = options
    return field


def install_openapi(app: FastAPI, server: ServerSettings) -> None:
    """Make `app.openapi()` describe the statuses every route shares, without FastAPI's 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            _describe_shared(document, server)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe_shared(document: dict[str, Any], server: ServerSettings) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in _DOCUMENT_MODELS:
        model_schema = model.model_json_schema(ref_template=_REF + "{model}")
        schemas.update(model_schema.pop("$defs", {}))
        schemas[model.__name__] = model_schema
    document["components"]["securitySchemes"] = {
        _SECURITY: {"type": "http", "scheme": "bearer"},
        _AZURE_SECURITY: {"type": "apiKey", "in": "header", "name": "api-key"},
    }
    for path, methods in document["paths"].items():
        for operation in methods.values():
            _describe_operation(operation, needs_key(path, server))


def _describe_operation(operation: dict[str, Any], keyed: bool) -> None:
    """Any request may be refused by the gate (400 `X-Request-Id`, 413 declared length, 431 headers),
    fail unexpectedly (500) or be cut off by a shutdown (503); keyed paths add the key's refusals."""
    responses = operation["responses"]
    if "HTTPValidationError" in str(responses.get("422")):
        del responses["422"]
    operation["parameters"] = [*operation.get("parameters", []), _REQUEST_ID]
    shared = {400, 413, 431, 500, 503}
    if keyed:
        shared |= {401, 403, 421}
        operation["security"] = [{_SECURITY: []}, {_AZURE_SECURITY: []}]
    if "requestBody" in operation:
        shared.add(408)
    for status in shared - {int(code) for code in responses}:
        responses[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": _REF + "ErrorResponse"}}},
        }
    operation["responses"] = dict(sorted(responses.items()))
