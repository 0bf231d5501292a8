"""Prices: gpt-image-1's by default, per model from settings, integer micro-dollars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gazo.billing.prices import GPT_IMAGE_1, PriceTable, micros_to_usd, usd_to_micros
from gazo.billing.tokens import TokenUsage
from gazo.settings import BillingSettings


@pytest.mark.parametrize(
    ("quality", "tokens", "usd"),
    [("low", 272, 0.011), ("medium", 1056, 0.042), ("high", 4160, 0.167)],
)
def test_gpt_image_1_square_image_costs_what_openai_publishes(quality: str, tokens: int, usd: float) -> None:
    cost = PriceTable(BillingSettings().prices).cost_micros(
        "gpt-image-1", TokenUsage(image_output_tokens=tokens)
    )
    assert cost == tokens * 40
    assert abs(micros_to_usd(cost) - usd) < 0.001  # OpenAI quotes them rounded: about $0.167


def test_each_kind_of_token_has_its_price() -> None:
    usage = TokenUsage(text_input_tokens=50, image_input_tokens=194, image_output_tokens=272)
    assert GPT_IMAGE_1.cost_micros(usage) == 50 * 5 + 194 * 10 + 272 * 40


def test_models_fall_back_to_default_then_to_gpt_image_1() -> None:
    table = PriceTable(
        {
            "sdxl": {"text_input": 0.5, "image_input": 1, "image_output": 2.25},
            "default": {"text_input": 1, "image_input": 1, "image_output": 1},
        }
    )
    usage = TokenUsage(text_input_tokens=3, image_output_tokens=2)
    assert table.cost_micros("sdxl", usage) == 6  # 1.5 + 4.5 = 6.0
    assert table.cost_micros("flux", usage) == 5
    assert PriceTable({}).for_model("anything") == GPT_IMAGE_1
    assert table.for_model("sdxl").image_output == Decimal("2.25")


def test_fractional_costs_round_half_up_once_per_request() -> None:
    table = PriceTable({"m": {"text_input": 0.5, "image_input": 0, "image_output": 0}})
    assert table.cost_micros("m", TokenUsage(text_input_tokens=3)) == 2  # 1.5 -> 2
    assert table.cost_micros("m", TokenUsage(text_input_tokens=2)) == 1


def test_usd_conversions_are_exact() -> None:
    assert usd_to_micros(0.1) == 100_000
    assert usd_to_micros("12.345678") == 12_345_678
    assert micros_to_usd(10_880) == 0.01088


def test_prices_must_name_every_kind_and_be_non_negative() -> None:
    with pytest.raises(ValueError, match="lacks image_output"):
        BillingSettings(prices={"m": {"text_input": 1, "image_input": 1}})
    with pytest.raises(ValueError, match="negative"):
        BillingSettings(prices={"m": {"text_input": -1, "image_input": 1, "image_output": 1}})
