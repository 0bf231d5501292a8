"""The read-only desks beside the request path: which models there are (and their prices), and usage reports.

They are small objects of their own, built once by the composition root, so that `GET /v1/models` and
the usage endpoints never reach through the image service into its engine or its meter (vLLM keeps
`OpenAIServingModels` apart from its serving classes for the same reason).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gazo.billing.meter import Meter
from gazo.billing.prices import ModelPrice, PriceTable
from gazo.billing.values import Caller
from gazo.engine.base import Engine, ModelResidency
from gazo.errors import ModelNotFound

_PRICED = ("text_input", "image_input", "image_output")


@dataclass(frozen=True)
class ModelEntry:
    """One name a client may send: a real model, or an alias (`alias_of` names its model)."""

    id: str
    alias_of: str | None
    description: str
    pricing: dict[str, float]
    #: The same for a line of the Batch API (`billing.batch_price_factor` of it).
    batch_pricing: dict[str, float]
    created: int
    #: A LoRA adapter published as a model: the model it renders on.
    base_model: str | None = None
    #: A real model's LoRA adapters, each also listed under its own name.
    adapters: tuple[str, ...] = ()
    #: Where its model's weights are (an alias or adapter reports its model's).
    residency: ModelResidency | None = None


class ModelCatalog:
    """Every model id clients may name, each with its description and prices per million tokens."""

    def __init__(self, engine: Engine, prices: PriceTable) -> None:
        self._engine, self._prices = engine, prices
        self._created = int(time.time())  # the catalogue's models exist since this deployment started

    def entries(self) -> list[ModelEntry]:
        residency = self._engine.residency()
        return [self._entry(model_id, target, residency) for model_id, target in self._engine.models()]

    def entry(self, model_id: str) -> ModelEntry:
        """The entry `model_id` names exactly (no default model here); `ModelNotFound` otherwise."""
        for candidate, target in self._engine.models():
            if candidate == model_id:
                return self._entry(candidate, target, self._engine.residency())
        raise ModelNotFound(model_id)

    def _entry(self, model_id: str, target: str, residency: dict[str, ModelResidency]) -> ModelEntry:
        info = self._engine.resolve(target)
        adapter = info.adapters.get(model_id)
        priced_as = self._prices.priced_as(model_id, info.name) if adapter else info.name
        price = self._prices.for_model(priced_as)
        return ModelEntry(
            id=model_id,
            alias_of=None if model_id == target or adapter else target,
            description=adapter.description if adapter else info.description,
            pricing=_per_million(price),
            batch_pricing=_per_million(price, self._prices.batch_factor),
            created=self._created,
            base_model=target if adapter else None,
            adapters=tuple(info.adapters) if model_id == target else (),
            residency=residency.get(info.name),
        )


def _per_million(price: ModelPrice, factor: Decimal = Decimal(1)) -> dict[str, float]:
    """USD per 1M tokens of each kind, at `factor` of the price."""
    return {kind: float(getattr(price, kind) * factor) for kind in _PRICED}


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
