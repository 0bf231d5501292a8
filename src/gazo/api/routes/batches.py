"""`/v1/batches`: create, retrieve, list and cancel batches of image requests (the runner does the work)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gazo.api.batches.objects import batch_object
from gazo.api.batches.runner import BatchRunner
from gazo.api.deps import CallerDep
from gazo.api.openapi import errors
from gazo.api.protocol import list_page
from gazo.errors import Unavailable

router = APIRouter()


class BatchCreateRequest(BaseModel):
    """openai-python's `batch_create_params`."""

    model_config = ConfigDict(extra="forbid")

    input_file_id: str = Field(max_length=100)
    endpoint: Literal["/v1/images/generations", "/v1/images/edits"]
    completion_window: Literal["24h"]
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]] | None = (
        Field(None, max_length=16)
    )


def _runner(request: Request) -> BatchRunner:
    runner: BatchRunner | None = getattr(request.app.state, "batches", None)
    if runner is None:
        raise Unavailable("gazo is starting up; retry shortly.")
    return runner


@router.post("/v1/batches", response_model=None, responses=errors(404))
async def create_batch(body: BatchCreateRequest, request: Request, caller: CallerDep) -> JSONResponse:
    """Lines for `/v1/images/generations` or `/v1/images/edits` (JSON form: images by `image_url` or
    `file_id`); every line runs once, at the batch price, below interactive requests."""
    view = await asyncio.to_thread(
        _runner(request).create,
        caller,
        input_file_id=body.input_file_id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
        metadata=body.metadata,
    )
    return JSONResponse(batch_object(view))


@router.get("/v1/batches/{batch_id}", response_model=None, responses=errors(404))
async def retrieve_batch(batch_id: str, request: Request, caller: CallerDep) -> JSONResponse:
    view = await asyncio.to_thread(_runner(request).queue.view, caller, batch_id)
    return JSONResponse(batch_object(view))


@router.get("/v1/batches", response_model=None)
async def list_batches(
    request: Request,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    views, more = await asyncio.to_thread(_runner(request).queue.page, caller, limit=limit, after=after)
    return JSONResponse(list_page([batch_object(view) for view in views], more))


@router.post("/v1/batches/{batch_id}/cancel", response_model=None, responses=errors(404))
async def cancel_batch(batch_id: str, request: Request, caller: CallerDep) -> JSONResponse:
    view = await asyncio.to_thread(_runner(request).queue.cancel, caller, batch_id)
    return JSONResponse(batch_object(view))

