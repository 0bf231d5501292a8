"""`gazo generate|edit --server URL`: the same request through a running gazo's HTTP API, streamed.

The events are the service's own `PartialImage` and `FinalImage`, so the command shows one progress
bar and writes files the same way whether it renders in-process or asks a server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from gazo.billing.tokens import TokenUsage
from gazo.cli.errors import fail, next_step
from gazo.jobs import ImageRequest
from gazo.service import FinalImage, PartialImage

_FIELDS = (
    "prompt",
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "partial_images",
    "seed",
    "placement",
)


async def stream_remote(
    request: ImageRequest, server: str, api_key: str | None, summary: dict[str, Any]
) -> AsyncIterator[PartialImage | FinalImage]:
    """POST `request` with `stream=true`; yield its images; `summary` gets the concrete output fields."""
    base = server.rstrip("/")
    fields = {name: getattr(request, name) for name in _FIELDS if getattr(request, name) is not None}
    if request.text:
        fields["text"] = list(request.text)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if request.is_edit:
        path, body = "/v1/images/edits", _multipart(request, fields)
    else:
        path, body = "/v1/images/generations", {"json": {**fields, "stream": True}}
    finals = 0
    try:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None)) as client,
            client.stream("POST", base + path, headers=headers, **body) as response,
        ):
            if response.status_code >= 400:
                await response.aread()
                _refuse(response.status_code, _error_of(response), response.headers, bool(api_key))
            async for event in _events(response):
                if event.get("type") == "error" or "error" in event:
                    _refuse(200, event.get("error") or {}, {}, bool(api_key))
                kind, data = str(event.get("type")), base64.b64decode(event.get("b64_json") or "")
                if kind.endswith(".partial_image"):
                    yield PartialImage(finals, event.get("partial_image_index", 0), data)
                elif kind.endswith(".completed"):
                    summary.update({key: event.get(key) for key in ("size", "quality", "background")})
                    if event.get("gazo"):
                        summary["gazo"] = event["gazo"]
                    yield FinalImage(finals, data, _usage(event.get("usage") or {}))
                    finals += 1
    except httpx.ConnectError as error:
        port = urlsplit(base).port or 8000
        fail(
            f"could not connect to gazo at {base} ({error})",
            f"is `gazo serve` running? Start it with `gazo serve --port {port}`, "
            "or leave out --server (and GAZO_SERVER) to render in this process.",
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        fail(
            f"--server {server!r} is not a URL",
            "give it with its scheme, e.g. --server http://127.0.0.1:8000.",
        )
    except httpx.TimeoutException:
        fail(
            f"gazo at {base} did not answer in time", "check that the URL is a gazo server and that it is up."
        )


def _multipart(request: ImageRequest, fields: dict[str, Any]) -> dict[str, Any]:
    name = "image[]" if len(request.images) > 1 else "image"
    files = [(name, (upload.filename, upload.data)) for upload in request.images]
    if request.mask is not None:
        files.append(("mask", (request.mask.filename, request.mask.data)))
    data = {key: value if isinstance(value, list) else str(value) for key, value in fields.items()}
    return {"data": {**data, "stream": "true"}, "files": files}


async def _events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `data:` payloads of a Server-Sent Events body."""
    if "text/event-stream" not in response.headers.get("content-type", ""):
        fail(f"{response.url} did not answer with an event stream", "check that --server is a gazo server.")
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield json.loads("\n".join(data))
            data = []
    if data:
        yield json.loads("\n".join(data))


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    return (
        error
        if isinstance(error, dict)
        else {"message": f"HTTP {response.status_code}: {response.text[:200]}"}
    )


def _refuse(status: int, error: dict[str, Any], headers: Any, has_key: bool) -> NoReturn:
    code = error.get("code")
    hint = next_step(code, status, retry_after=headers.get("retry-after"), has_key=has_key)
    fail(str(error.get("message") or f"HTTP {status}"), hint, code=code)


def _usage(usage: dict[str, Any]) -> TokenUsage:
    details = usage.get("input_tokens_details") or {}
    return TokenUsage(
        details.get("text_tokens", 0), details.get("image_tokens", 0), usage.get("output_tokens", 0)
    )
