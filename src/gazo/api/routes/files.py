"""`/v1/files`: upload, list, retrieve, read and delete the files batches run from and write to."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import UploadFile

from gazo.api.deps import CallerDep, ServiceDep, SettingsDep
from gazo.api.openapi import errors
from gazo.api.protocol import list_page
from gazo.api.uploads import read_form
from gazo.errors import InvalidRequest
from gazo.service.files import UPLOAD_PURPOSES

router = APIRouter()


@router.post("/v1/files", response_model=None, responses=errors(404, 413))
async def create_file(
    request: Request, service: ServiceDep, settings: SettingsDep, caller: CallerDep
) -> JSONResponse:
    """Multipart: `file` and `purpose` (`batch` for a batch's input lines; `vision`, `user_data` for
    images requests name by `file_id`)."""
    form = await read_form(request, {"file": settings.batch.max_file_bytes}, max_files=1, max_fields=4)
    try:
        unknown = sorted(set(form.keys()) - {"file", "purpose"})
        if unknown:
            raise InvalidRequest(
                f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter"
            )
        purpose, upload = form.get("purpose"), form.get("file")
        if not isinstance(purpose, str) or purpose not in UPLOAD_PURPOSES:
            raise InvalidRequest(f"`purpose` must be one of {', '.join(UPLOAD_PURPOSES)}.", param="purpose")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(
                "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
            )
        info = await asyncio.to_thread(
            service.files.save, caller, upload.file, filename=upload.filename or "upload", purpose=purpose
        )
    finally:
        await form.close()
    return JSONResponse(info.to_openai())


@router.get("/v1/files", response_model=None)
async def list_files(
    service: ServiceDep,
    caller: CallerDep,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
    after: Annotated[str | None, Query(max_length=100)] = None,
    order: Literal["asc", "desc"] = "desc",
) -> JSONResponse:
    found, more = await asyncio.to_thread(
        service.files.page, caller, purpose=purpose, limit=limit, after=after, order=order
    )
    return JSONResponse(list_page([info.to_openai() for info in found], more))


@router.get("/v1/files/{file_id}", response_model=None, responses=errors(404))
async def retrieve_file(file_id: str, service: ServiceDep, caller: CallerDep) -> JSONResponse:
    info = await asyncio.to_thread(service.files.info, caller, file_id)
    return JSONResponse(info.to_openai())


@router.get("/v1/files/{file_id}/content", response_model=None, responses=errors(404))
async def retrieve_file_content(file_id: str, service: ServiceDep, caller: CallerDep) -> FileResponse:
    info = await asyncio.to_thread(service.files.info, caller, file_id)
    media = "application/jsonl" if info.filename.endswith(".jsonl") else "application/octet-stream"
    return FileResponse(
        service.files.path(info.id), media_type=media, headers={"x-content-type-options": "nosniff"}
    )


@router.delete("/v1/files/{file_id}", response_model=None, responses=errors(404))
async def delete_file(file_id: str, service: ServiceDep, caller: CallerDep) -> JSONResponse:
    await asyncio.to_thread(service.files.delete, caller, file_id)
    return JSONResponse({"id": file_id, "object": "file", "deleted": True})
