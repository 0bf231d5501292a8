"""The gate every HTTP request passes before a route sees it: who is calling, from where, with how much.

In this order, on headers alone, before one byte of the body is read:
1. `X-Request-Id` must be a short printable token (it is written to the database and the log).
2. The caller is authenticated (every path except the public ones below), so an anonymous client
   cannot make gazo read, parse or spool anything. The key comes in `Authorization: Bearer`, or in
   Azure's `api-key` header.
3. In open mode (no keys, loopback) only loopback `Host` names (421 otherwise: a DNS-rebinding page)
   and loopback or absent `Origin`s (403 otherwise: any web page could drive the server).
4. The body is limited per route while it streams, declared or chunked (Starlette's
   `RequestBodyLimitMiddleware` counts it), and a client that stops sending gets a 408.

The caller and the request id travel to the routes in `scope["state"]` (`request.state`); every
response carries `x-request-id`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gazo.api.errors import respond
from gazo.billing.values import Caller
from gazo.errors import (
    GazoError,
    InvalidRequest,
    MisdirectedRequest,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
)
from gazo.settings import ServerSettings

logger = logging.getLogger(__name__)

#: Paths anyone may call: liveness, readiness, the playground's static files, and verification.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/favicon.ico", "/v1/provenance/trust-anchor"})
PUBLIC_PREFIXES = ("/static/", "/images/")  # /images/: `url` responses, fetched without a key as OpenAI's
#: Verification reads an upload, so it is public but body-limited like any route.
VERIFY_PATH = "/v1/provenance/verify"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
METRICS_PATH = "/metrics"
EDITS_PATH = "/v1/images/edits"
VARIATIONS_PATH = "/v1/images/variations"
RESPONSES_PATH = "/v1/responses"
FILES_PATH = "/v1/files"

#: A client's `X-Request-Id`: short printable ASCII, no spaces (it reaches the database and the log).
REQUEST_ID_PATTERN = r"^[\x21-\x7e]{1,100}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


@dataclass(frozen=True)
class BodyLimits:
    """The most bytes a request body may have, per route, from `[server]` settings."""

    json: int
    edits: int
    one_image: int
    responses: int
    files: int

    @classmethod
    def from_settings(cls, server: ServerSettings, *, max_file_bytes: int) -> BodyLimits:
        megabyte = 1024 * 1024
        edits = server.max_upload_bytes * server.max_input_images + server.max_mask_bytes + megabyte
        # A Responses request is JSON held in memory whole: its images (as base64 data URLs, 4/3 of their
        # bytes) may add up to one upload's worth, as OpenAI bounds a request's image payload.
        responses = max(server.max_json_bytes, server.max_upload_bytes * 4 // 3 + megabyte)
        return cls(
            json=server.max_json_bytes,
            edits=edits,
            one_image=server.max_upload_bytes + megabyte,
            responses=responses,
            files=max_file_bytes + megabyte,
        )

    def for_path(self, path: str, *, json_body: bool = False) -> int:
        """`json_body`: an edit sent as JSON is held in memory whole, so it gets the Responses bound."""
        if path == EDITS_PATH:
            return self.responses if json_body else self.edits
        if path in (VERIFY_PATH, VARIATIONS_PATH):
            return self.one_image
        if path == FILES_PATH:
            return self.files
        return self.responses if path == RESPONSES_PATH else self.json


class RequestGate:
    """Pure ASGI middleware (no `BaseHTTPMiddleware`: it must not buffer bodies or break streaming)."""

    def __init__(
        self, app: ASGIApp, server: ServerSettings, allow_open: bool, max_file_bytes: int = 200 * 1024 * 1024
    ) -> None:
        self.app = app
        self.server = server
        self.allow_open = allow_open
        self.limits = BodyLimits.from_settings(server, max_file_bytes=max_file_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            limit = await self._admit(scope)
        except GazoError as error:
            request_id = scope.get("state", {}).get("request_id")
            await respond(error)(scope, receive, _with_request_id(send, request_id) if request_id else send)
            return
        timed = _with_body_timeout(receive, self.server.body_timeout_s)
        tagged = _with_request_id(send, scope["state"]["request_id"])
        await RequestBodyLimitMiddleware(self.app, max_body_size=limit)(scope, timed, tagged)

    async def _admit(self, scope: Scope) -> int:
        """Check everything the headers tell; returns the route's body limit."""
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id")
        if request_id is not None and not _REQUEST_ID.match(request_id):
            raise InvalidRequest(
                "`X-Request-Id` must be 1-100 printable ASCII characters without spaces.",
                param="X-Request-Id",
            )
        state = scope.setdefault("state", {})
        state["request_id"] = request_id or f"req_{uuid.uuid4().hex[:24]}"
        path: str = scope["path"]
        if needs_key(path, self.server):
            caller = await self._authenticate(scope, headers)
            state["caller"] = caller
            if caller.open_mode:
                check_local_browser(headers)
        json_body = headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
        limit = self.limits.for_path(path, json_body=json_body)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is {declared} bytes; at most {limit} are accepted here.")
        return limit

    async def _authenticate(self, scope: Scope, headers: Headers) -> Caller:
        service = getattr(scope["app"].state, "service", None) if "app" in scope else None
        if service is None:
            raise Unavailable("gazo is starting up; retry shortly.", headers={"retry-after": "1"})
        caller: Caller = await service.authenticate(authorization_of(headers), allow_open=self.allow_open)
        return caller


def authorization_of(headers: Headers) -> str | None:
    """The request's `Authorization`, or Azure OpenAI's `api-key: <key>` as `Bearer <key>` when it sent
    none (`openai.AzureOpenAI` sends only that). `Authorization` wins when both are sent."""
    authorization = headers.get("authorization")
    api_key = headers.get("api-key")
    if authorization or not api_key:
        return authorization
    return f"Bearer {api_key.strip()}"


def needs_key(path: str, server: ServerSettings) -> bool:
    """Whether `path` is answered only for an authenticated caller (the OpenAPI document says so too)."""
    if path in PUBLIC_PATHS or path == VERIFY_PATH or path.startswith(PUBLIC_PREFIXES):
        return False
    if path == METRICS_PATH:
        return not server.public_metrics
    if path in DOCS_PATHS:
        return not server.public_docs
    return True  # every API route, present and future, and unknown paths alike


def check_local_browser(headers: Headers) -> None:
    """Open mode serves the operator's own machine: refuse other hosts' names and other sites' pages."""
    host = headers.get("host", "")
    if not is_loopback_name(_hostname(f"//{host}")):
        raise MisdirectedRequest(
            f"This gazo runs without API keys and answers only to loopback host names, not {host[:100]!r}."
        )
    origin = headers.get("origin")
    if origin is not None and not is_loopback_name(_hostname(origin)):
        raise PermissionDenied(
            f"This gazo runs without API keys and refuses requests from web pages of other sites "
            f"({origin[:100]!r})."
        )
    if headers.get("sec-fetch-site") == "cross-site":
        raise PermissionDenied("This gazo runs without API keys and refuses cross-site requests.")


def is_loopback_name(host: str | None) -> bool:
    """`localhost`, `*.localhost` (RFC 6761) or a loopback address."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _with_body_timeout(receive: Receive, timeout_s: float) -> Receive:
    """A `receive` that gives up on a client whose body stopped arriving (408).

    Only while the body is incomplete: once it is all here, a route waits on `receive` for the
    client's disconnect for as long as its job runs. Raised as Starlette's `HTTPException`, the one
    kind FastAPI's body reader lets through unchanged (it turns others into a 400)."""
    complete = False

    async def receive_in_time() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        try:
            async with asyncio.timeout(timeout_s):
                message = await receive()
        except TimeoutError:
            raise HTTPException(408, f"No part of the request body arrived for {timeout_s:g} s.") from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time


def _with_request_id(send: Send, request_id: str) -> Send:
    """Every response says which request it answers (`x-request-id`), as OpenAI's do."""

    async def send_tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(name, value) for name, value in message.get("headers", []) if name != b"x-request-id"]
            message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
        await send(message)

    return send_tagged


def request_id_of(request: Request) -> str:
    """The request's id: the client's `X-Request-Id` (checked by the gate) or one made for it."""
    request_id: str = request.scope["state"]["request_id"]
    return request_id


def caller_of(request: Request) -> Caller | None:
    """The caller the gate authenticated for this request, if the path needed one."""
    caller: Caller | None = request.scope.get("state", {}).get("caller")
    return caller
