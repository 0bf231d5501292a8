"""Answering an image request under its place in the model's line, whatever route it came by.

1. A place in the model's line (a full one answers 429 here, before any work or database write).
2. The work: the submission (every refusal) and then the response, cancelled the moment the client
   hangs up. A streamed response takes the place over and gives it back when the stream ends.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response

from gazo.api.disconnect import ClientGone, unless_client_leaves
from gazo.engine.admission import Admission
from gazo.jobs import ImageRequest
from gazo.service import ImageService

logger = logging.getLogger(__name__)

#: Makes the response once admitted; a stream must release the admission when it ends.
Answer = Callable[[Admission], Awaitable[Response]]


async def answer_admitted(
    http: Request,
    service: ImageService,
    request: ImageRequest,
    request_id: str,
    answer: Answer,
    *,
    stream: bool,
) -> Response:
    admission = service.admit(request)
    handed_over = False
    try:
        response = await unless_client_leaves(http.receive, answer(admission))
        handed_over = stream  # the stream gives the place back when it ends
        return response
    except ClientGone:
        logger.info("the client of %s hung up; its request is cancelled", request_id)
        return Response(status_code=499)  # nobody is listening
    finally:
        if not handed_over:
            admission.release()
