"""`GET /v1/organization/usage/images` and `GET /v1/organization/costs`, in OpenAI's usage-API shape."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from gazo.api.deps import CallerDep, UsageDep

router = APIRouter()

ListQuery = Annotated[list[str] | None, Query()]


class BucketWindow:
    """The time window and paging both endpoints take, as OpenAI's usage API names them."""

    def __init__(
        self,
        start_time: int,
        end_time: int | None = None,
        bucket_width: str = "1d",
        group_by: ListQuery = None,
        limit: int | None = None,
        page: str | None = None,
    ) -> None:
        self.fields: dict[str, Any] = {
            "start_time": start_time,
            "end_time": end_time,
            "bucket_width": bucket_width,
            "group_by": group_by or (),
            "limit": limit,
            "page": page,
        }


WindowDep = Annotated[BucketWindow, Depends()]


@router.get("/v1/organization/usage/images")
async def usage_images(
    usage: UsageDep,
    caller: CallerDep,
    window: WindowDep,
    api_key_ids: ListQuery = None,
    models: ListQuery = None,
    sizes: ListQuery = None,
    sources: ListQuery = None,
    batch_ids: ListQuery = None,
) -> dict[str, Any]:
    """Images and tokens per time bucket (admin keys; an organisation's admin sees its own)."""
    filters = {
        "api_key_ids": api_key_ids,
        "models": models,
        "sizes": sizes,
        "sources": sources,
        "batch_ids": batch_ids,  # gazo's extension, as is `group_by=batch_id`
    }
    return await asyncio.to_thread(usage.images, caller, **window.fields, **filters)


@router.get("/v1/organization/costs")
async def costs(
    usage: UsageDep, caller: CallerDep, window: WindowDep, batch_ids: ListQuery = None
) -> dict[str, Any]:
    """Money per time bucket, by model (`line_item`), key or batch (`batch_ids`: only those batches)."""
    return await asyncio.to_thread(usage.costs, caller, **window.fields, batch_ids=batch_ids)
