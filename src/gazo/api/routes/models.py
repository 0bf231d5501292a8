"""`GET /v1/models`: gazo's real models and the OpenAI names that alias them."""

from __future__ import annotations

from fastapi import APIRouter

from gazo.api.deps import CallerDep, ModelsDep
from gazo.api.openapi import errors
from gazo.api.protocol import Model, ModelList
from gazo.service import ModelEntry

router = APIRouter()


@router.get("/v1/models")
async def list_models(models: ModelsDep, caller: CallerDep) -> ModelList:
    return ModelList(data=[_describe(entry) for entry in models.entries()])


@router.get("/v1/models/{model_id:path}", responses=errors(404))
async def retrieve_model(model_id: str, models: ModelsDep, caller: CallerDep) -> Model:
    return _describe(models.entry(model_id))


def _describe(entry: ModelEntry) -> Model:
    return Model(
        id=entry.id,
        created=entry.created,
        alias_of=entry.alias_of,
        description=entry.description,
        pricing=entry.pricing,
        base_model=entry.base_model,
        adapters=list(entry.adapters) or None,
        **(entry.residency.model_dump() if entry.residency else {}),
    )
