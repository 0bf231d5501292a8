"""The one mapping from failures to OpenAI's error body, for responses and for stream events.

`GazoError` subclasses carry their own status/type/code; request validation errors become 400
`invalid_request_error` naming the field; anything unexpected becomes a bare 500 whose message
carries a request id, with the traceback only in the log.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import Scope

from gazo.errors import GazoError, InvalidRequest

logger = logging.getLogger(__name__)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class InvalidJson(InvalidRequest):
    """A body that is not JSON at all: OpenAI names no param and no code."""

    code = None


def validation_error(error: ValidationError | RequestValidationError) -> GazoError:
    """The first problem of a validation error, as OpenAI reports it (param = the field's name)."""
    first = error.errors()[0]
    if first.get("type") == "json_invalid":  # its location is the decoder's offset, not a field
        offsets = [part for part in first.get("loc", ()) if isinstance(part, int)]
        where = f" at character {offsets[-1]}" if offsets else ""
        return InvalidJson(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The API expects a JSON payload, but what was sent was not valid "
            f"JSON: {first.get('ctx', {}).get('error', 'decode error')}{where}.)"
        )
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    param = ".".join(location) or None
    if param is None:  # the body as a whole: missing, or JSON that is not an object
        return InvalidRequest(
            "The request body must be a JSON object of the request's parameters (got "
            f"{type(first.get('input')).__name__ if first.get('type') != 'missing' else 'no body'})."
        )
    if first.get("type") == "extra_forbidden":
        return InvalidRequest(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")
    if first.get("type") == "missing":
        return InvalidRequest(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    got = first.get("input")
    shown = json.dumps(got)[:80] if isinstance(got, str | int | float | bool | None) else type(got).__name__
    return InvalidRequest(f"Invalid value for '{param}': {first.get('msg')} (got {shown}).", param=param)


def unexpected_error(error: BaseException) -> GazoError:
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    logger.error("unexpected error, request id %s", request_id, exc_info=error)
    return GazoError(f"The server had an error while processing your request (request id {request_id}).")


def to_gazo_error(error: BaseException) -> GazoError:
    if isinstance(error, GazoError):
        return error
    if isinstance(error, RequestValidationError | ValidationError):
        return validation_error(error)
    return unexpected_error(error)


def respond(error: BaseException) -> JSONResponse:
    failure = to_gazo_error(error)
    return JSONResponse(failure.to_body(), status_code=failure.status, headers=failure.headers)


#: Codes for the errors Starlette raises itself (routing, body limits, the gate's body timeout). A path
#: no route serves keeps the plain `not_found` (what clients already match on); its message says more.
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "payload_too_large"}

#: Where a middleware that rewrote the path (`api/azure.py`) keeps the one the client asked for, in
#: `scope["state"]`, so a 404 names the path the client sent.
REQUESTED_PATH_STATE_KEY = "requested_path"

#: What gazo serves, for the 404 of any other OpenAI route (chat, embeddings, audio, files, ...).
SERVED_ROUTES = (
    "POST /v1/images/generations, POST /v1/images/edits, POST /v1/images/variations, "
    "POST /v1/responses (with the image_generation tool), /v1/files and /v1/batches (batches of image "
    "requests) and GET /v1/models"
)


def http_error_response(request: Request, error: HTTPException) -> JSONResponse:
    message = str(error.detail)
    if error.status_code == 413:  # Starlette's body limit says only "Content Too Large"
        limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        message = f"The request body is larger than the {limit} bytes accepted here."
    elif error.status_code == 404 and "endpoint" not in request.scope:  # no route matched the path
        message = unsupported_route_message(request.scope)
    body = error_body(message, "invalid_request_error", None, _HTTP_CODES.get(error.status_code))
    return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))


def unsupported_route_message(scope: Scope) -> str:
    """OpenAI's "Invalid URL (METHOD path)", then what gazo serves instead: a client pointed at gazo
    for chat or embeddings learns why at once. The method and path are the client's, so shown clipped
    to printable characters (they reach logs and terminals)."""
    path = scope.get("state", {}).get(REQUESTED_PATH_STATE_KEY) or scope.get("path", "")
    return (
        f"Invalid URL ({_printable(scope.get('method', ''), 20)} {_printable(path, 200)}): gazo serves "
        f"images only: {SERVED_ROUTES}."
    )


def _printable(text: str, limit: int) -> str:
    clipped = "".join(char if char.isprintable() else "?" for char in text[:limit])
    return clipped + "..." if len(text) > limit else clipped


def install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        return respond(error)

    async def handle_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return http_error_response(request, error)

    app.add_exception_handler(GazoError, handle)
    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(ValidationError, handle)
    app.add_exception_handler(HTTPException, handle_http)
    app.add_exception_handler(Exception, handle)
