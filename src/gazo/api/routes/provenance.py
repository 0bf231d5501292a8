"""Verification for everyone: read any image's Content Credentials, and fetch this deployment's root."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import UploadFile

from gazo.api.deps import ProvenanceDep, SettingsDep
from gazo.api.openapi import verify_form
from gazo.api.uploads import read_form, read_upload
from gazo.errors import InvalidRequest

router = APIRouter()

#: Root certificates are a few KB each; a megabyte holds hundreds.
_MAX_TRUST_BYTES = 1024 * 1024


@router.post("/v1/provenance/verify", openapi_extra=verify_form())
async def verify_provenance(
    request: Request, provenance: ProvenanceDep, settings: SettingsDep
) -> dict[str, Any]:
    """Multipart `image` (any format c2pa reads), optional `trust` (extra root PEMs, as a file or text)."""
    limit = settings.server.max_upload_bytes
    form = await read_form(request, {"image": limit, "trust": _MAX_TRUST_BYTES}, max_files=2, max_fields=10)
    try:
        image = form.get("image")
        if not isinstance(image, UploadFile):
            raise InvalidRequest(
                "Missing required parameter: 'image' (a file).",
                param="image",
                code="missing_required_parameter",
            )
        upload = await read_upload(image, "image", settings.server.max_upload_bytes)
        trust = form.get("trust")
        anchors: str | None
        if isinstance(trust, UploadFile):
            anchors = (await read_upload(trust, "trust", _MAX_TRUST_BYTES)).data.decode("utf-8", "replace")
        else:
            anchors = trust
    finally:
        await form.close()
    report = await asyncio.to_thread(provenance.verify, upload.data, anchors or None)
    return report.to_dict()


@router.get(
    "/v1/provenance/trust-anchor",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {"schema": {"type": "string"}}}}},
)
async def trust_anchor(provenance: ProvenanceDep) -> PlainTextResponse:
    """This deployment's root certificate: give it to verifiers so gazo's images read `Trusted`."""
    return PlainTextResponse(provenance.trust_anchor_pem(), media_type="application/x-pem-file")
