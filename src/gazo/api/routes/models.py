"""`GET /v1/models`: gazo's real models and the OpenAI names that alias them."""

from __future__ import annotations

import time

from fastapi import APIRouter

from gazo.api.deps import CallerDep, ServiceDep
from gazo.api.openapi import errors
from gazo.api.protocol import Model, ModelList
from gazo.errors import ModelNotFound

router = APIRouter()
_STARTED = int(time.time())


@router.get("/v1/models")
async def list_models(service: ServiceDep, caller: CallerDep) -> ModelList:
    return ModelList(
        data=[_describe(service, model_id, target) for model_id, target in service.engine.models()]
    )


@router.get("/v1/models/{model_id:path}", responses=errors(404))
async def retrieve_model(model_id: str, service: ServiceDep, caller: CallerDep) -> Model:
    for candidate, target in service.engine.models():
        if candidate == model_id:
            return _describe(service, candidate, target)
    raise ModelNotFound(model_id)


def _describe(service: ServiceDep, model_id: str, target: str) -> Model:
    info = service.engine.resolve(target)
    price = service.meter.prices.for_model(info.name)
    return Model(
        id=model_id,
        created=_STARTED,
        alias_of=None if model_id == target else target,
        description=info.description,
        pricing={kind: float(getattr(price, kind)) for kind in ("text_input", "image_input", "image_output")},
    )
