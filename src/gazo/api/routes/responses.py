"""`POST /v1/responses` with the `image_generation` tool, `GET` and `DELETE /v1/responses/{id}`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gazo.api.admitted import answer_admitted
from gazo.api.azure import deployment_of
from gazo.api.deps import CallerDep, RequestIdDep, ServiceDep, SettingsDep
from gazo.api.openapi import IDEMPOTENCY_KEY, RESPONSES_RESPONSES, errors
from gazo.api.responses.protocol import ResponseCreateRequest
from gazo.api.responses.serving import ResponsesServing
from gazo.api.streaming import ImageEventStream
from gazo.billing.values import Caller
from gazo.engine.admission import Admission
from gazo.service import RequestContext

router = APIRouter()

#: A stored Response: JSON, or 404 once it is deleted or expired (or was another key's).
_STORED = {200: {"content": {"application/json": {"schema": {"type": "object"}}}}, **errors(404)}


@router.post(
    "/v1/responses", response_model=None, responses=RESPONSES_RESPONSES, openapi_extra=IDEMPOTENCY_KEY
)
async def create_response(
    request: Request,
    body: ResponseCreateRequest,
    service: ServiceDep,
    settings: SettingsDep,
    caller: CallerDep,
    request_id: RequestIdDep,
) -> Response:
    context = RequestContext(caller, request_id, request.headers.get("idempotency-key"))
    serving = ResponsesServing(service, settings)
    turn = await serving.read(body, context, deployment_of(request))
    stream = bool(body.stream)

    async def answer(admission: Admission) -> Response:
        submission = await service.submit(turn.request, context, admission)
        if stream:
            events = serving.events(turn, submission)
            return ImageEventStream(
                submission, request_id=request_id, on_close=admission.release, events=events
            )
        return _json(
            await serving.complete(turn, submission), {**submission.headers, "x-request-id": request_id}
        )

    return await answer_admitted(request, service, turn.request, request_id, answer, stream=stream)


@router.get("/v1/responses/{response_id}", response_model=None, responses=_STORED)
async def retrieve_response(
    response_id: str, service: ServiceDep, settings: SettingsDep, caller: CallerDep
) -> Response:
    return await _stored(ResponsesServing(service, settings).retrieve, response_id, caller)


@router.delete("/v1/responses/{response_id}", response_model=None, responses=_STORED)
async def delete_response(
    response_id: str, service: ServiceDep, settings: SettingsDep, caller: CallerDep
) -> Response:
    return await _stored(ResponsesServing(service, settings).delete, response_id, caller)


async def _stored(
    work: Callable[[str, str | None], dict[str, Any]], response_id: str, caller: Caller
) -> Response:
    """A stored Response's route: read or delete it as the caller's key (blocking: off the loop)."""
    return _json(await asyncio.to_thread(work, response_id, caller.key_id), {})


def _json(body: dict[str, object], headers: dict[str, str]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json", headers=headers)
