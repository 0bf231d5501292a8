"""Liveness, readiness (models loaded) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gazo.api.deps import ServiceDep

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(service: ServiceDep) -> JSONResponse:
    health = service.health()
    body = {"ready": health.ready, "models": health.models, "queue_depth": health.queue_depth}
    return JSONResponse(body, status_code=200 if health.ready else 503)


@router.get("/metrics")
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics_text(), media_type="text/plain; version=0.0.4")
