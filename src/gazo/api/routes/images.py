"""`POST /v1/images/generations` and `POST /v1/images/edits`: parse, call the service, format."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from gazo.api.deps import CallerDep, RequestIdDep, ServiceDep, SettingsDep
from gazo.api.disconnect import ClientGone, unless_client_leaves
from gazo.api.errors import validation_error
from gazo.api.openapi import IDEMPOTENCY_KEY, IMAGES_RESPONSES, edit_form
from gazo.api.protocol import Image, ImageEditRequest, ImageGenerateRequest, ImagesResponse
from gazo.api.streaming import ImageEventStream
from gazo.api.uploads import read_form, read_upload
from gazo.engine.admission import Admission
from gazo.errors import InvalidRequest
from gazo.jobs import ImageRequest
from gazo.service import ImageService, RequestContext

logger = logging.getLogger(__name__)

router = APIRouter()

_FILE_FIELDS = ("image", "image[]", "mask")


@router.post(
    "/v1/images/generations", response_model=None, responses=IMAGES_RESPONSES, openapi_extra=IDEMPOTENCY_KEY
)
async def create_image(
    request: Request,
    body: ImageGenerateRequest,
    service: ServiceDep,
    caller: CallerDep,
    request_id: RequestIdDep,
) -> Response | StreamingResponse:
    context = RequestContext(caller, request_id, request.headers.get("idempotency-key"))
    return await _respond(request, service, body.to_request(), context, stream=bool(body.stream))


@router.post(
    "/v1/images/edits",
    response_model=None,
    responses=IMAGES_RESPONSES,
    openapi_extra={**edit_form(), **IDEMPOTENCY_KEY},
)
async def create_image_edit(
    request: Request, service: ServiceDep, settings: SettingsDep, caller: CallerDep, request_id: RequestIdDep
) -> Response | StreamingResponse:
    limits = settings.server
    upload_limit = limits.max_upload_bytes
    file_limits = {"image": upload_limit, "image[]": upload_limit, "mask": limits.max_mask_bytes}
    form = await read_form(request, file_limits, max_files=limits.max_input_images + 1, max_fields=100)
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
    context = RequestContext(caller, request_id, request.headers.get("idempotency-key"))
    return await _respond(
        request, service, body.to_edit_request(images, mask), context, stream=bool(body.stream)
    )


async def _respond(
    http: Request, service: ImageService, request: ImageRequest, context: RequestContext, *, stream: bool
) -> Response:
    """1. a place in the model's line (a full one answers 429 here, before any work or database
    write); 2. the submission (every refusal) and then the response, cancelled the moment the client
    hangs up."""
    admission = service.admit(request)
    handed_over = False
    try:
        if stream:
            response: Response = await unless_client_leaves(
                http.receive, _open_stream(service, request, context, admission)
            )
            handed_over = True  # the stream gives the place back when it ends
        else:
            response = await unless_client_leaves(http.receive, _create(service, request, context, admission))
        return response
    except ClientGone:
        logger.info("the client of %s hung up; its request is cancelled", context.request_id)
        return Response(status_code=499)  # nobody is listening
    finally:
        if not handed_over:
            admission.release()


async def _open_stream(
    service: ImageService, request: ImageRequest, context: RequestContext, admission: Admission
) -> ImageEventStream:
    """The stream opens (status line and all) only once the request is paid for and queued."""
    submission = await service.submit(request, context, admission)
    return ImageEventStream(submission, request_id=context.request_id, on_close=admission.release)


async def _create(
    service: ImageService, request: ImageRequest, context: RequestContext, admission: Admission
) -> Response:
    result = await service.create(request, context, admission)
    output = result.output

    def body() -> bytes:  # megabytes of base64 and JSON: built off the event loop
        response = ImagesResponse(
            created=result.created,
            background=output.background,
            data=[Image(b64_json=base64.b64encode(data).decode()) for data in result.images],
            output_format=output.output_format,
            quality=output.quality,
            safety_identifier=result.safety_identifier,
            size=output.size,
            usage=result.usage.to_openai_dict(),
            gazo=result.extensions or None,
        )
        return response.model_dump_json(exclude_none=True).encode()

    headers = {**result.headers, "x-request-id": context.request_id}
    return Response(await asyncio.to_thread(body), media_type="application/json", headers=headers)


def _files(form: Any, name: str) -> list[Any]:
    items = form.getlist(name) + (form.getlist(f"{name}[]") if name == "image" else [])
    for item in items:
        if not isinstance(item, UploadFile):
            raise InvalidRequest(f"`{name}` must be a file upload.", param=name)
    return items
