"""`GET /v1/models`: gazo's real models and the OpenAI names that alias them."""

from __future__ import annotations

from fastapi import APIRouter

from gazo.api.deps import CallerDep, ModelsDep
from gazo.api.openapi import errors
from gazo.api.protocol import Model, ModelList
from gazo.billing.values import Caller
from gazo.service import ModelEntry

router = APIRouter()


@router.get("/v1/models")
async def list_models(models: ModelsDep, caller: CallerDep) -> ModelList:
    return ModelList(data=[_describe(entry, caller) for entry in models.entries()])


@router.get("/v1/models/{model_id:path}", responses=errors(404))
async def retrieve_model(model_id: str, models: ModelsDep, caller: CallerDep) -> Model:
    return _describe(models.entry(model_id), caller)


#: What only an admin key (or the operator in open mode) sees of a model: when it last ran tells one
#: tenant when another used it, and its memory is the operator's business.
_OPERATOR_FIELDS = frozenset({"memory_bytes", "last_used_at"})


def _describe(entry: ModelEntry, caller: Caller) -> Model:
    residency = entry.residency.model_dump() if entry.residency else {}
    if not caller.is_admin:
        residency = {field: value for field, value in residency.items() if field not in _OPERATOR_FIELDS}
    return Model(
        id=entry.id,
        created=entry.created,
        alias_of=entry.alias_of,
        description=entry.description,
        pricing=entry.pricing,
        batch_pricing=entry.batch_pricing,
        base_model=entry.base_model,
        adapters=list(entry.adapters) or None,
        **residency,
    )
