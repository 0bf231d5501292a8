"""Batch lines on SQLite and PostgreSQL: held and charged at `billing.batch_price_factor` of the price,
their usage rows carry the batch id, and the usage API and `gazo usage` group and filter by it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from gazo.billing.meter import Meter
from gazo.billing.reports import summary
from gazo.billing.tokens import TokenUsage
from gazo.cli.usage import usage
from gazo.errors import InvalidRequest, QuotaExceeded
from gazo.settings import BillingSettings
from gazo.store.database import Database, sqlite_url
from tests.billing.meters import (
    ESTIMATE,
    ESTIMATE_MICROS,
    budget_of,
    caller_for,
    make_key,
    make_meter,
    reserve,
    usage_rows,
)

DAY = 86400
START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
#: What the lines below really use: 10 text tokens and 320 image tokens, 50 + 12,800 micro-dollars.
USED = TokenUsage(text_input_tokens=10, image_output_tokens=320)
USED_MICROS = 12_850


def test_a_batch_line_is_held_and_charged_at_half_and_its_row_names_the_batch(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    meter = make_meter(database)
    caller = caller_for(meter, secret)

    line = reserve(meter, caller, "line-1", batch_id="batch_a")
    assert (line.batch_id, line.amount_micros) == ("batch_a", ESTIMATE_MICROS // 2)  # 5,465: exact
    assert budget_of(database, key_id) == (1_000_000, 0, 5_465)
    assert meter.commit(line, USED, latency_ms=1).cost_micros == USED_MICROS // 2
    assert budget_of(database, key_id) == (1_000_000, 6_425, 0)

    interactive = reserve(meter, caller, "interactive")
    assert (interactive.batch_id, interactive.amount_micros) == (None, ESTIMATE_MICROS)
    assert meter.commit(interactive, USED, latency_ms=1).cost_micros == USED_MICROS
    assert budget_of(database, key_id) == (1_000_000, 6_425 + USED_MICROS, 0)

    released = reserve(meter, caller, "line-2", batch_id="batch_a")
    meter.release(released, status="failed")  # gives back exactly the discounted hold
    assert budget_of(database, key_id) == (1_000_000, 6_425 + USED_MICROS, 0)

    rows = {row.request_id: row for row in usage_rows(database)}
    assert [(r.batch_id, r.reserved_micros, r.cost_micros, r.status) for r in rows.values()] == [
        ("batch_a", 5_465, 6_425, "succeeded"),
        (None, ESTIMATE_MICROS, USED_MICROS, "succeeded"),
        ("batch_a", 5_465, 0, "failed"),
    ]


def test_the_batch_factor_is_configurable_and_rounds_half_up_once(database: Database) -> None:
    _, secret = make_key(database)
    half = make_meter(database, prices={"m": {"text_input": 0.5, "image_input": 0, "image_output": 0}})
    caller = caller_for(half, secret)
    five_tokens = TokenUsage(text_input_tokens=5)  # full price 2.5 -> 3
    line = reserve(half, caller, "r1", model="m", estimate=five_tokens, batch_id="batch_a")
    # 0.5 * 2.5 = 1.25 -> 1; rounding the full price first would give 0.5 * 3 = 1.5 -> 2.
    assert line.amount_micros == 1
    assert half.commit(line, five_tokens, latency_ms=1).cost_micros == 1
    one_token = TokenUsage(text_input_tokens=1)  # 0.5 * $5 = 2.5 -> 3: half-up
    assert half.commit(reserve(half, caller, "r2", batch_id="b"), one_token, latency_ms=1).cost_micros == 3

    tenth = make_meter(database, batch_price_factor=0.1)  # no float drift: 0.1 is taken as written
    line = reserve(tenth, caller, "r3", batch_id="batch_b")
    assert line.amount_micros == 1_093
    assert tenth.commit(line, USED, latency_ms=1).cost_micros == 1_285
    full = make_meter(database, batch_price_factor=1)
    assert reserve(full, caller, "r4", batch_id="batch_c").amount_micros == ESTIMATE_MICROS


@pytest.mark.parametrize("factor", [0, -0.5, 1.01, 2])
def test_the_batch_factor_is_a_discount_above_zero(factor: float) -> None:
    with pytest.raises(ValidationError, match="batch_price_factor"):
        BillingSettings(batch_price_factor=factor)


def test_budgets_see_the_discounted_amount(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=ESTIMATE_MICROS - 1)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    with pytest.raises(QuotaExceeded):
        reserve(meter, caller, "interactive")
    first = reserve(meter, caller, "line-1", batch_id="batch_a")
    assert budget_of(database, key_id) == (ESTIMATE_MICROS - 1, 0, 5_465)
    with pytest.raises(QuotaExceeded):  # two halves held would be a whole estimate: over by one
        reserve(meter, caller, "line-2", batch_id="batch_a")
    meter.commit(first, ESTIMATE, latency_ms=1)
    assert budget_of(database, key_id) == (ESTIMATE_MICROS - 1, 5_465, 0)


def _seed(database: Database) -> tuple[Meter, str]:
    """Two lines of batch_a, one of batch_b, two interactive requests (one failed); the admin's secret."""
    _, secret = make_key(database, name="admin", is_admin=True)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    at = datetime.fromtimestamp(START + 10, UTC)
    plan = [("batch_a", 1), ("batch_a", 2), ("batch_b", 1), (None, 1), (None, 0)]
    for i, (batch_id, n) in enumerate(plan):
        line = reserve(meter, caller, f"r{i}", batch_id=batch_id, n=max(n, 1), now=at)
        if n:
            meter.commit(line, TokenUsage(image_output_tokens=272 * n), latency_ms=1, n=n)
        else:
            meter.release(line, status="failed")
    return meter, secret


def test_usage_and_costs_group_by_batch_with_null_for_interactive(database: Database) -> None:
    meter, secret = _seed(database)
    admin = caller_for(meter, secret)
    window = {"start_time": START, "end_time": START + DAY}
    page = meter.usage_buckets(admin, **window, group_by=["batch_id"])
    results = sorted(page["data"][0]["results"], key=lambda r: r["batch_id"] or "")
    assert [(r["batch_id"], r["images"], r["num_model_requests"]) for r in results] == [
        (None, 1, 1),
        ("batch_a", 3, 2),
        ("batch_b", 1, 1),
    ]
    assert results[0]["object"] == "organization.usage.images.result"
    plain = meter.usage_buckets(admin, **window)["data"][0]["results"]
    assert "batch_id" not in plain[0] and plain[0]["images"] == 5  # OpenAI's shape unless asked

    costs = meter.costs(admin, **window, group_by=["batch_id", "line_item"])
    amounts = sorted(
        (r["batch_id"] or "", r["line_item"], r["amount"]["value"]) for r in costs["data"][0]["results"]
    )
    # A batch line of one image pays half of 272 * 40 micro-dollars; the interactive one the whole.
    assert amounts == [
        ("", "gpt-image-1", 0.01088),
        ("batch_a", "gpt-image-1", 0.01632),
        ("batch_b", "gpt-image-1", 0.00544),
    ]


def test_usage_and_costs_filter_by_batch_ids(database: Database) -> None:
    meter, secret = _seed(database)
    admin = caller_for(meter, secret)
    window = {"start_time": START, "end_time": START + DAY}
    only_a = meter.usage_buckets(admin, **window, batch_ids=["batch_a"])["data"][0]["results"]
    assert [(r["images"], r["num_model_requests"]) for r in only_a] == [(3, 2)]
    cost = meter.costs(admin, **window, batch_ids=["batch_a", "batch_b"])["data"][0]["results"]
    assert [r["amount"]["value"] for r in cost] == [0.02176]
    with pytest.raises(InvalidRequest) as refused:
        meter.costs(admin, **window, batch_ids=["batch\x00"])
    assert refused.value.param == "batch_ids"


def test_gazo_usage_by_batch(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "gazo.db"))
    database.upgrade()
    _seed(database)
    rows = summary(database, since=datetime.fromtimestamp(START, UTC), by="batch")
    assert [(r.group, r.requests, r.images, r.cost_micros) for r in rows] == [
        ("batch_a", 2, 3, 16_320),
        ("(interactive)", 2, 1, 10_880),
        ("batch_b", 1, 1, 5_440),
    ]
    database.dispose()
    result = CliRunner().invoke(
        usage, ["--by", "batch", "--csv", "--since", "2026-10-31", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("batch,requests,")
    assert "batch_b,1,1,1,0,272,0.005440" in result.stdout.splitlines()
