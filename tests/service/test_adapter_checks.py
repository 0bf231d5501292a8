"""Which LoRA adapters a request gets: the one its `model` names, and those it picks in `lora` where the
operator allows it, among the model's configured adapters only."""

from __future__ import annotations

import pytest

from gazo.backends.base import Capabilities
from gazo.billing.prices import PriceTable
from gazo.engine.base import AdapterInfo, ModelInfo
from gazo.errors import InvalidRequest
from gazo.jobs import ImageRequest
from gazo.service.checks import check_adapters, prepare
from gazo.settings import ServerSettings

ADAPTERS = {
    "acme": AdapterInfo(weight=0.8, description="Acme"),
    "ink": AdapterInfo(weight=1.0, description="Ink"),
}
OPEN = ModelInfo(
    name="base",
    description="",
    capabilities=Capabilities(),
    default_size="64x64",
    default_quality="medium",
    adapters=ADAPTERS,
    request_adapters=True,
)
LOCKED = OPEN.model_copy(update={"request_adapters": False})


def request(model: str = "base", *lora: tuple[str, float | None]) -> ImageRequest:
    return ImageRequest(prompt="x", model=model, lora=lora)


def test_the_model_name_and_lora_pick_configured_adapters_sorted_by_name() -> None:
    assert check_adapters(request(), OPEN) == ()
    assert check_adapters(request("acme"), LOCKED) == (("acme", 0.8),)
    assert check_adapters(request("base", ("ink", None), ("acme", -1.5)), OPEN) == (
        ("acme", -1.5),
        ("ink", 1.0),
    )
    assert check_adapters(request("acme", ("acme", 0.3)), OPEN) == (("acme", 0.3),)  # lora sets the weight
    prepared = prepare(request("acme"), LOCKED, ServerSettings())
    assert prepared.job.adapters == (("acme", 0.8),) and prepared.adapter == "acme"
    assert prepared.extensions()["adapters"] == [{"name": "acme", "weight": 0.8}]


@pytest.mark.parametrize(
    ("model", "lora", "message"),
    [
        (LOCKED, [("acme", None)], "does not take adapters per request"),
        (OPEN, [("other", None)], "not an adapter of model `base`"),
        (OPEN, [("/srv/loras/x.safetensors", 1.0)], "not an adapter of model `base`"),
        (OPEN, [("acme", None), ("acme", 1.0)], "more than once"),
    ],
)
def test_lora_is_refused_naming_the_param(
    model: ModelInfo, lora: list[tuple[str, float | None]], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message) as refused:
        check_adapters(request("base", *lora), model)
    assert refused.value.param == "lora"


def test_an_adapter_is_priced_as_its_model_unless_priced_itself() -> None:
    prices = PriceTable({"base": {"text_input": 1, "image_input": 2, "image_output": 3}})
    assert prices.priced_as("acme", "base") == "base"
    priced = PriceTable({"acme": {"text_input": 9, "image_input": 9, "image_output": 9}})
    assert priced.priced_as("acme", "base") == "acme"
