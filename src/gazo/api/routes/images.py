"""`POST /v1/images/generations`, `/v1/images/edits` and `/v1/images/variations`: parse, call the
service, format (base64, or URLs of the images the service kept)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from gazo.api import requests
from gazo.api.admitted import answer_admitted
from gazo.api.azure import deployment_of
from gazo.api.delivery import Delivery
from gazo.api.deps import CallerDep, RequestIdDep, ServiceDep, SettingsDep
from gazo.api.errors import InvalidJson, validation_error
from gazo.api.image_refs import ImageResolver
from gazo.api.openapi import IDEMPOTENCY_KEY, IMAGES_RESPONSES, edit_form, variation_form
from gazo.api.protocol import (
    ImageCreateVariationRequest,
    ImageEditRequest,
    ImageGenerateRequest,
)
from gazo.api.streaming import ImageEventStream
from gazo.api.uploads import read_form, read_upload
from gazo.engine.admission import Admission
from gazo.errors import InvalidRequest
from gazo.jobs import ImageRequest, Upload
from gazo.service import ImageService, RequestContext
from gazo.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter()

FormModel = TypeVar("FormModel", bound=BaseModel)


@dataclass(frozen=True)
class ImageCall:
    """One call of the Images API: the HTTP request, the service and settings, and who asks."""

    http: Request
    service: ImageService
    settings: Settings
    context: RequestContext

    async def respond(self, request: ImageRequest, *, revised_prompt: bool, stream: bool = False) -> Response:
        """Answer `request` under its place in the model's line (see `gazo.api.admitted`); on an Azure
        deployment route, the deployment names the model."""
        deployment = deployment_of(self.http)
        if deployment is not None:
            request = dataclasses.replace(request, model=deployment)
        service, context = self.service, self.context

        async def answer(admission: Admission) -> Response:
            if stream:
                return await _open_stream(service, request, context, admission)
            delivery = Delivery.of(self.http, self.settings, revised_prompt=revised_prompt)
            return await _create(service, request, context, admission, delivery)

        return await answer_admitted(self.http, service, request, context.request_id, answer, stream=stream)


async def _image_call(
    request: Request, service: ServiceDep, settings: SettingsDep, caller: CallerDep, request_id: RequestIdDep
) -> ImageCall:
    context = RequestContext(caller, request_id, request.headers.get("idempotency-key"))
    return ImageCall(request, service, settings, context)


ImageCallDep = Annotated[ImageCall, Depends(_image_call)]


@router.post(
    "/v1/images/generations", response_model=None, responses=IMAGES_RESPONSES, openapi_extra=IDEMPOTENCY_KEY
)
async def create_image(body: ImageGenerateRequest, call: ImageCallDep) -> Response:
    request = body.to_request()
    return await call.respond(request, revised_prompt=body.shows_revised_prompt, stream=bool(body.stream))


@router.post(
    "/v1/images/edits",
    response_model=None,
    responses=IMAGES_RESPONSES,
    openapi_extra={**edit_form(), **IDEMPOTENCY_KEY},
)
async def create_image_edit(call: ImageCallDep) -> Response:
    limits = call.settings.server
    if _is_json(call.http):  # the JSON form: images by reference (data URLs, file ids)
        resolver = ImageResolver(call.service, call.context.caller, max_bytes=limits.max_upload_bytes)
        raw = await call.http.body()
        try:
            fields = json.loads(raw)
        except ValueError:
            raise InvalidJson("We could not parse the JSON body of your request.") from None
        parsed = await asyncio.to_thread(requests.edit, fields, resolver, max_images=limits.max_input_images)
        return await call.respond(parsed.request, revised_prompt=parsed.revised_prompt, stream=parsed.stream)
    upload_limit = limits.max_upload_bytes
    file_limits = {"image": upload_limit, "image[]": upload_limit, "mask": limits.max_mask_bytes}
    body, files = await _read_multipart(call.http, ImageEditRequest, file_limits, limits.max_input_images + 1)
    masks = files.get("mask", [])
    if len(masks) > 1:
        raise InvalidRequest("Only one `mask` may be sent.", param="mask")
    edit = body.to_edit_request(_required_images(files), masks[0] if masks else None)
    return await call.respond(edit, revised_prompt=body.shows_revised_prompt, stream=bool(body.stream))


@router.post(
    "/v1/images/variations",
    response_model=None,
    responses=IMAGES_RESPONSES,
    openapi_extra={**variation_form(), **IDEMPOTENCY_KEY},
)
async def create_image_variation(call: ImageCallDep) -> Response:
    """An edit of one image with a fixed prompt (`VARIATION_PROMPT`), on any model that can edit."""
    file_limits = {"image": call.settings.server.max_upload_bytes}
    body, files = await _read_multipart(call.http, ImageCreateVariationRequest, file_limits, 1)
    variation = body.to_variation_request(_required_images(files)[0])
    return await call.respond(variation, revised_prompt=False)


async def _read_multipart(
    request: Request, model: type[FormModel], file_limits: Mapping[str, int], max_files: int
) -> tuple[FormModel, dict[str, list[Upload]]]:
    """A multipart body as its scalar fields, validated as `model`, and its files by field name (`image[]`
    counted as `image`), each read within its limit; a file field not in `file_limits` is refused."""
    form = await read_form(request, file_limits, max_files=max_files, max_fields=100)
    try:
        fields: dict[str, Any] = {}
        lora: dict[str, list[Any]] = {}
        for key, value in form.multi_items():
            if key in ("text", "text[]"):  # one text, or several as repeated fields
                fields.setdefault("text", []).append(value)
            elif key.startswith("lora"):
                lora.setdefault(key, []).append(value)
            elif key not in file_limits:
                fields[key] = value
        if lora:
            fields["lora"] = _form_lora(lora)
        try:
            body = model.model_validate(fields)
        except ValidationError as error:
            raise validation_error(error) from None
        files: dict[str, list[Upload]] = {}
        for key in file_limits:
            name = key.removesuffix("[]")
            for item in form.getlist(key):
                if not isinstance(item, UploadFile):
                    raise InvalidRequest(f"`{name}` must be a file upload.", param=name)
                files.setdefault(name, []).append(await read_upload(item, name, file_limits[key]))
    finally:
        await form.close()
    return body, files


def _form_lora(fields: dict[str, list[Any]]) -> Any:
    """`lora` from a form: the openai SDK sends `extra_body={"lora": [{"name", "weight"}]}` as repeated
    `lora[][name]` and `lora[][weight]` fields (weights for all or none); a `lora` field may hold JSON."""
    if "lora" in fields:
        try:
            return json.loads(fields["lora"][-1])
        except ValueError:
            raise InvalidRequest(
                "`lora` must be a JSON list of {name, weight} objects.", param="lora"
            ) from None
    names, weights = fields.get("lora[][name]", []), fields.get("lora[][weight]", [])
    if set(fields) - {"lora[][name]", "lora[][weight]"} or (weights and len(weights) != len(names)):
        raise InvalidRequest(
            "`lora` must come as `lora[][name]` fields, with a `lora[][weight]` for each or for none.",
            param="lora",
        )
    weights = weights or [None] * len(names)
    return [{"name": name, "weight": weight} for name, weight in zip(names, weights, strict=True)]


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def _required_images(files: dict[str, list[Upload]]) -> list[Upload]:
    images = files.get("image", [])
    if not images:
        raise InvalidRequest(
            "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
        )
    return images


async def _open_stream(
    service: ImageService, request: ImageRequest, context: RequestContext, admission: Admission
) -> ImageEventStream:
    """The stream opens (status line and all) only once the request is paid for and queued."""
    submission = await service.submit(request, context, admission)
    return ImageEventStream(submission, request_id=context.request_id, on_close=admission.release)


async def _create(
    service: ImageService,
    request: ImageRequest,
    context: RequestContext,
    admission: Admission,
    delivery: Delivery,
) -> Response:
    result = await service.create(request, context, admission)
    headers = {**result.headers, "x-request-id": context.request_id}
    body = await asyncio.to_thread(delivery.body, result)  # megabytes of base64 and JSON: off the loop
    return Response(body, media_type="application/json", headers=headers)
