"""Liveness, readiness (models loaded, database answering) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gazo.api.deps import ServiceDep
from gazo.api.openapi import READINESS_RESPONSES

router = APIRouter()

_DATABASE_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=READINESS_RESPONSES)
async def readyz(service: ServiceDep) -> JSONResponse:
    health = service.health()
    try:
        async with asyncio.timeout(_DATABASE_TIMEOUT_S):
            problem = await asyncio.to_thread(service.database_problem)
    except TimeoutError:
        problem = f"no answer within {_DATABASE_TIMEOUT_S:g} s"
    ready = health.ready and problem is None
    body = {
        "ready": ready,
        "models": health.models,
        "queue_depth": health.queue_depth,
        "memory": health.memory,
        "database": problem or "ok",
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics_text(), media_type="text/plain; version=0.0.4")
