"""`POST /v1/images/generations` and `POST /v1/images/edits`: parse, call the service, format."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from gazo.api.deps import CallerDep, RequestIdDep, ServiceDep, SettingsDep
from gazo.api.errors import validation_error
from gazo.api.protocol import Image, ImageEditRequest, ImageGenerateRequest, ImagesResponse
from gazo.api.streaming import describe_output, image_events
from gazo.api.uploads import read_upload
from gazo.billing.values import Caller
from gazo.errors import InvalidRequest, PayloadTooLarge
from gazo.jobs import ImageRequest
from gazo.service import ImageService
from gazo.settings import ServerSettings

logger = logging.getLogger(__name__)

router = APIRouter()

_FILE_FIELDS = ("image", "image[]", "mask")


@router.post("/v1/images/generations", response_model=None)
async def create_image(
    request: Request,
    body: ImageGenerateRequest,
    service: ServiceDep,
    caller: CallerDep,
    request_id: RequestIdDep,
) -> Response | StreamingResponse:
    billing = _Billing(caller, request_id, request.headers.get("idempotency-key"))
    return await _respond(request, service, body.to_request(), billing, stream=bool(body.stream))


@router.post("/v1/images/edits", response_model=None)
async def create_image_edit(
    request: Request, service: ServiceDep, settings: SettingsDep, caller: CallerDep, request_id: RequestIdDep
) -> Response | StreamingResponse:
    limits = settings.server
    _check_content_length(request, limits)
    form = await request.form(max_files=limits.max_input_images + 2, max_fields=100)
    try:
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key in ("text", "text[]"):  # one text, or several as repeated fields
                fields.setdefault("text", []).append(value)
            elif key not in _FILE_FIELDS:
                fields[key] = value
        try:
            body = ImageEditRequest.model_validate(fields)
        except ValidationError as error:
            raise validation_error(error) from None
        images = [await read_upload(item, "image", limits.max_upload_bytes) for item in _files(form, "image")]
        if not images:
            raise InvalidRequest(
                "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
            )
        masks = _files(form, "mask")
        if len(masks) > 1:
            raise InvalidRequest("Only one `mask` may be sent.", param="mask")
        mask = await read_upload(masks[0], "mask", limits.max_mask_bytes) if masks else None
    finally:
        await form.close()
    billing = _Billing(caller, request_id, request.headers.get("idempotency-key"))
    return await _respond(
        request, service, body.to_edit_request(images, mask), billing, stream=bool(body.stream)
    )


@dataclass(frozen=True)
class _Billing:
    caller: Caller
    request_id: str
    idempotency_key: str | None


async def _respond(
    http: Request, service: ImageService, request: ImageRequest, billing: _Billing, *, stream: bool
) -> Response | StreamingResponse:
    prepared = await service.prepare(request)
    options = {"request_id": billing.request_id, "idempotency_key": billing.idempotency_key}
    if stream:
        events = service.stream(prepared, billing.caller, **options)
        accepted = await anext(events)  # paid for and queued: limits, budget and a full queue answer before
        headers = {**getattr(accepted, "headers", {}), "x-request-id": billing.request_id}
        return StreamingResponse(
            image_events(prepared, events), media_type="text/event-stream", headers=headers
        )
    work = asyncio.ensure_future(service.create(prepared, billing.caller, **options))
    if not await _finished_unless_disconnected(http, work, billing.request_id):
        return Response(status_code=499)  # nobody is listening; the job was cancelled
    result = work.result()
    response = ImagesResponse(
        created=result.created,
        data=[Image(b64_json=base64.b64encode(data).decode()) for data in result.images],
        safety_identifier=request.safety_identifier,
        usage=result.usage.to_openai_dict(),
        gazo=prepared.extensions() or None,
        **describe_output(prepared),
    )
    headers = {**result.headers, "x-request-id": billing.request_id}
    return JSONResponse(response.model_dump(exclude_none=True), headers=headers)


async def _finished_unless_disconnected(http: Request, work: asyncio.Future[Any], request_id: str) -> bool:
    """Wait for `work`; if the client hangs up first, cancel it (the job stops at its next step).

    `work` runs as a task of its own, so when this handler is cancelled (the server shutting down
    after its grace period) it must be cancelled too: otherwise it would render, and be charged, for
    a response nobody receives."""
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=0.25)
            if not work.done() and await http.is_disconnected():
                logger.info("the client of %s hung up; its job is cancelled", request_id)
                await _cancel(work)
                return False
    except asyncio.CancelledError:
        await _cancel(work)
        raise
    return True


async def _cancel(work: asyncio.Future[Any]) -> None:
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await work


def _check_content_length(request: Request, limits: ServerSettings) -> None:
    declared = request.headers.get("content-length")
    most = limits.max_upload_bytes * limits.max_input_images + limits.max_mask_bytes + 1024 * 1024
    if declared and declared.isdigit() and int(declared) > most:
        raise PayloadTooLarge(
            f"The request body is {declared} bytes; at most {most} are accepted.", param="image"
        )


def _files(form: Any, name: str) -> list[Any]:
    items = form.getlist(name) + (form.getlist(f"{name}[]") if name == "image" else [])
    for item in items:
        if not isinstance(item, UploadFile):
            raise InvalidRequest(f"`{name}` must be a file upload.", param=name)
    return items
