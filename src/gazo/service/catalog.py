"""The read-only desks beside the request path: which models there are (and their prices), and usage reports.

They are small objects of their own, built once by the composition root, so that `GET /v1/models` and
the usage endpoints never reach through the image service into its engine or its meter (vLLM keeps
`OpenAIServingModels` apart from its serving classes for the same reason).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gazo.billing.meter import Meter
from gazo.billing.prices import PriceTable
from gazo.billing.values import Caller
from gazo.engine.base import Engine
from gazo.errors import ModelNotFound

_PRICED = ("text_input", "image_input", "image_output")


@dataclass(frozen=True)
class ModelEntry:
    """One name a client may send: a real model, or an alias (`alias_of` names its model)."""

    id: str
    alias_of: str | None
    description: str
    pricing: dict[str, float]
    created: int


class ModelCatalog:
    """Every model id clients may name, each with its description and prices per million tokens."""

    def __init__(self, engine: Engine, prices: PriceTable) -> None:
        self._engine, self._prices = engine, prices
        self._created = int(time.time())  # the catalogue's models exist since this deployment started

    def entries(self) -> list[ModelEntry]:
        return [self._entry(model_id, target) for model_id, target in self._engine.models()]

    def entry(self, model_id: str) -> ModelEntry:
        """The entry `model_id` names exactly (no default model here); `ModelNotFound` otherwise."""
        for candidate, target in self._engine.models():
            if candidate == model_id:
                return self._entry(candidate, target)
        raise ModelNotFound(model_id)

    def _entry(self, model_id: str, target: str) -> ModelEntry:
        info = self._engine.resolve(target)
        price = self._prices.for_model(info.name)
        return ModelEntry(
            id=model_id,
            alias_of=None if model_id == target else target,
            description=info.description,
            pricing={kind: float(getattr(price, kind)) for kind in _PRICED},
            created=self._created,
        )


class UsageReports:
    """OpenAI's usage-API reports over gazo's usage rows (blocking: call them off the event loop)."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def images(self, caller: Caller, **params: Any) -> dict[str, Any]:
        """Images and tokens per time bucket (see :func:`gazo.billing.reports.usage_images`)."""
        return self._meter.usage_buckets(caller, **params)

    def costs(self, caller: Caller, **params: Any) -> dict[str, Any]:
        """Money per time bucket (see :func:`gazo.billing.reports.costs`)."""
        return self._meter.costs(caller, **params)
