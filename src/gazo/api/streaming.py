"""Server-Sent Events in the shape openai-python parses: `image_generation.*` and `image_edit.*`.

The status line is sent before rendering ends, so a failure after that point travels as an `error`
event carrying the same error object a response would have had.

`ImageEventStream` watches for the client's disconnect whatever ASGI version the server speaks:
Starlette's own response stops watching from version 2.4 on and relies on a failed send, which never
comes for a stream without partial images (silent until its end).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gazo.api.disconnect import ClientGone, unless_client_leaves
from gazo.api.errors import to_gazo_error
from gazo.service import FinalImage, PartialImage, Submission

logger = logging.getLogger(__name__)


def sse(event: str, payload: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


async def image_events(submission: Submission) -> AsyncIterator[bytes]:
    """Encode a Submission's events as SSE. An image's event (a megabyte or more of base64 and JSON) is
    built off the event loop."""
    try:
        async for event in submission:
            if isinstance(event, PartialImage | FinalImage):
                yield await asyncio.to_thread(image_event, submission, event)
    except Exception as error:
        failure = to_gazo_error(error)
        yield sse("error", {"type": "error", **failure.to_body()})
    finally:  # a client that went away cancels its job at the next denoising step
        await submission.aclose()


def image_event(submission: Submission, event: PartialImage | FinalImage) -> bytes:
    """One `partial_image` or `completed` event, as openai-python parses it."""
    prefix = f"image_{submission.operation}"
    payload: dict[str, Any] = {
        "b64_json": base64.b64encode(event.data).decode(),
        **submission.output.fields(),
        "created_at": int(time.time()),
    }
    if isinstance(event, PartialImage):
        payload.update(type=f"{prefix}.partial_image", partial_image_index=event.partial_index)
    else:
        payload.update(type=f"{prefix}.completed", usage=event.usage.to_openai_dict())
        if submission.safety_identifier:
            payload["safety_identifier"] = submission.safety_identifier
        if submission.extensions:
            payload["gazo"] = submission.extensions
    return sse(payload["type"], payload)


class ImageEventStream(StreamingResponse):
    """The SSE response of a streamed request: a Submission's events (the request is already accepted).

    However it ends (finished, client gone, server stopping), it closes the Submission, which stops the
    job at its next step and settles its reservation, and then calls `on_close` (the request's place
    in the line)."""

    def __init__(
        self,
        submission: Submission,
        *,
        request_id: str,
        on_close: Callable[[], None],
        events: AsyncIterator[bytes] | None = None,
    ) -> None:
        """`events`: the SSE bytes to send (default: the Images API's events of `submission`)."""
        headers = {**submission.headers, "x-request-id": request_id}
        body = events if events is not None else image_events(submission)
        super().__init__(body, media_type="text/event-stream", headers=headers)
        self.submission, self.request_id, self.on_close = submission, request_id, on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await unless_client_leaves(receive, self.stream_response(send))
        except ClientGone:
            logger.info("the client of %s hung up; its job is cancelled", self.request_id)
        finally:
            try:
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await self.submission.aclose()
            finally:
                self.on_close()
