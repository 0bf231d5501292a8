"""Noticing a client that leaves: by waiting on `receive()` for `http.disconnect`, as Starlette's
`StreamingResponse` and vLLM's `with_cancellation` do, not by polling. Its work is cancelled at once,
wherever it is (moderation, reservation, the queue, a denoising step), streamed or not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Receive

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before its response was ready; its work was cancelled."""


async def wait_for_disconnect(receive: Receive) -> None:
    """Returns once the client has gone; call it only after the request body was read."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(receive: Receive, work: Awaitable[T]) -> T:
    """`await work`, cancelling it the moment the client disconnects (then raises `ClientGone`).

    When this is cancelled itself (the server shutting down), `work` is cancelled and waited for
    first, so whatever it holds (a place in the line, a reservation, a job) is given back before the
    cancellation goes on."""
    task = asyncio.ensure_future(work)
    leaving = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        await asyncio.wait({task, leaving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        leaving.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
    if leaving.done() and not leaving.cancelled() and leaving.exception() is not None:
        logger.info("reading the client's messages failed (%r): taken as a hang-up", leaving.exception())
    if task.cancelled():
        raise ClientGone
    return task.result()
