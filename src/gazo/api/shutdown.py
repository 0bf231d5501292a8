"""Requests the server cuts off: what they get instead of uvicorn's plain-text 500 and a traceback.

A server that stops cancels the requests still running at the end of its grace period (uvicorn's
`timeout_graceful_shutdown`). `ShutdownCutoff` answers each with OpenAI's 503 and `Retry-After`, or
ends a stream that had started with an `error` event carrying the same body, and logs one line.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gazo.api.errors import respond
from gazo.api.streaming import sse
from gazo.errors import ShuttingDown

logger = logging.getLogger(__name__)


class ShutdownCutoff:
    """Pure ASGI middleware, outside every other: a request the server cancels gets an answer (uvicorn
    cancels those still running at the end of `timeout_graceful_shutdown`).

    The cancellation is answered here and goes no further: the request's own code has already
    cancelled its work and released what it held on the way up."""

    def __init__(self, app: ASGIApp, retry_after_s: int) -> None:
        self.app = app
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _Sent()

        async def send_and_note(message: Message) -> None:
            sent.note(message)
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._answer(scope, receive, send, sent)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, sent: _Sent) -> None:
        request_id = scope.get("state", {}).get("request_id")  # the gate's, when it got that far
        shown = f"{scope['method']} {scope['path']}" + (f" ({request_id})" if request_id else "")
        # Ray Serve's proxy cancels a request whose client left the same way: no one reads that 503.
        logger.info("%s cut off before it finished (server shutting down): answered 503", shown)
        error = ShuttingDown(self.retry_after_s)
        if not sent.started:
            response = respond(error)
            if request_id:
                response.headers["x-request-id"] = request_id
            await response(scope, receive, send)
        elif not sent.finished:  # a stream: its last event is the error; anything else just ends
            tail = sse("error", {"type": "error", **error.to_body()}) if sent.event_stream else b""
            await send({"type": "http.response.body", "body": tail, "more_body": False})


class _Sent:
    """What a response has sent so far."""

    def __init__(self) -> None:
        self.started = self.finished = self.event_stream = False

    def note(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            self.event_stream = content_type.startswith("text/event-stream")
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True
