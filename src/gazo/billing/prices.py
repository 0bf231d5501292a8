"""What tokens cost, per model, in integer micro-dollars.

Prices are quoted like OpenAI's: USD per 1M tokens. That is the same number as micro-dollars per
token, so a request's cost is ``sum(tokens * price)`` in micro-dollars, exact for whole-dollar prices
and rounded half-up once per request otherwise (Decimal arithmetic: floats would drift in sums).
gpt-image-1's prices (text in $5, image in $10, image out $40) are the default; ``billing.prices``
overrides them per model name, and its ``default`` entry prices every model not listed.

A batch line (a request of the Batch API) costs ``billing.batch_price_factor`` times that price, half by
default as at OpenAI. The factor multiplies the exact sum before the one rounding, so a batch line is
never a rounded full price halved (which would round twice and drift from ``factor * price``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gazo.billing.tokens import TokenUsage

__all__ = ["DEFAULT_PRICE_KEY", "GPT_IMAGE_1", "ModelPrice", "PriceTable", "micros_to_usd", "usd_to_micros"]

DEFAULT_PRICE_KEY = "default"
_MICROS_PER_USD = Decimal(1_000_000)
_FULL_PRICE = Decimal(1)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens (= micro-dollars per token) for each kind of token."""

    text_input: Decimal
    image_input: Decimal
    image_output: Decimal

    @classmethod
    def from_usd_per_million(cls, prices: Mapping[Any, float | Decimal | str]) -> ModelPrice:
        # str() first: Decimal(0.1) would keep the float's binary error.
        return cls(*(Decimal(str(prices[kind])) for kind in ("text_input", "image_input", "image_output")))

    def cost_micros(self, usage: TokenUsage, factor: Decimal = _FULL_PRICE) -> int:
        """The exact cost times `factor` (the batch discount, or 1), rounded half-up here and only here."""
        total = factor * (
            usage.text_input_tokens * self.text_input
            + usage.image_input_tokens * self.image_input
            + usage.image_output_tokens * self.image_output
        )
        return int(total.to_integral_value(rounding=ROUND_HALF_UP))


GPT_IMAGE_1 = ModelPrice(Decimal(5), Decimal(10), Decimal(40))


class PriceTable:
    """Prices by model name, falling back to ``default`` and then to gpt-image-1's."""

    def __init__(
        self,
        prices: Mapping[str, Mapping[Any, float | Decimal | str]] | None = None,
        *,
        batch_factor: float | Decimal | str = _FULL_PRICE,
    ) -> None:
        """`prices`: USD per 1M tokens by model, each keyed `text_input`, `image_input`, `image_output`
        (keys typed `Any` since the settings type them as a `Literal` of those names, dicts as `str`).
        `batch_factor`: what a batch line pays of that price (``billing.batch_price_factor``)."""
        self._prices = {
            model: ModelPrice.from_usd_per_million(price) for model, price in (prices or {}).items()
        }
        self.batch_factor = Decimal(str(batch_factor))  # str() first, as for prices

    def priced_as(self, adapter: str, model: str) -> str:
        """The name whose price a LoRA `adapter` of `model` is charged at: its own when configured, else
        its model's (an adapter costs what its model costs unless priced itself)."""
        return adapter if adapter in self._prices else model

    def for_model(self, model: str) -> ModelPrice:
        return self._prices.get(model) or self._prices.get(DEFAULT_PRICE_KEY) or GPT_IMAGE_1

    def cost_micros(self, model: str, usage: TokenUsage, *, batch: bool = False) -> int:
        """What `usage` of `model` costs; `batch`: a batch line's, at ``batch_factor`` of the price."""
        return self.for_model(model).cost_micros(usage, self.batch_factor if batch else _FULL_PRICE)


def usd_to_micros(usd: float | Decimal | str) -> int:
    return int((Decimal(str(usd)) * _MICROS_PER_USD).to_integral_value(rounding=ROUND_HALF_UP))


def micros_to_usd(micros: int) -> float:
    """For display and OpenAI's ``amount.value`` (a JSON number); sums stay in integers."""
    return float(Decimal(micros) / _MICROS_PER_USD)
