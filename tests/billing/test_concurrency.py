"""Limits hold under concurrency on both databases: exact rows and sums, budgets never overdrawn."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from gazo.billing.meter import IdempotencyConflict, Outcome, Reservation
from gazo.billing.tokens import TokenUsage
from gazo.errors import QuotaExceeded
from gazo.store.database import Database
from tests.billing.meters import (
    ESTIMATE,
    ESTIMATE_MICROS,
    RESPONSE,
    budget_of,
    caller_for,
    make_key,
    make_meter,
    open_reservations,
    reserve,
    usage_rows,
)


def test_200_concurrent_requests_from_10_keys_write_200_rows_with_exact_sums(database: Database) -> None:
    meter = make_meter(database)
    made = [make_key(database, name=f"key{i}", budget_micros=10**9) for i in range(10)]
    callers = [caller_for(meter, secret) for _, secret in made]

    def usage_of(i: int) -> TokenUsage:
        return TokenUsage(text_input_tokens=i % 7 + 1, image_output_tokens=272 * (i % 3 + 1))

    def request(i: int) -> Outcome:
        caller = callers[i % 10]
        n = i % 3 + 1
        estimate = TokenUsage(text_input_tokens=i % 7 + 1, image_output_tokens=272 * n)
        reservation = reserve(meter, caller, request_id=f"req_{i}", n=n, estimate=estimate)
        return meter.commit(reservation, usage_of(i), latency_ms=i)

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(request, range(200)))

    rows = usage_rows(database)
    assert len(rows) == 200 == len({row.id for row in rows}) == len({o.usage_id for o in outcomes})
    assert Counter(row.status for row in rows) == {"succeeded": 200}
    expected = [meter.prices.cost_micros("gpt-image-1", usage_of(i)) for i in range(200)]
    assert [o.cost_micros for o in outcomes] == expected
    for k, (key_id, _) in enumerate(made):
        mine = [row for row in rows if row.key_id == key_id]
        assert len(mine) == 20
        assert sum(row.cost_micros for row in mine) == sum(expected[k::10])
        assert sum(row.image_output_tokens for row in mine) == sum(
            usage_of(i).image_output_tokens for i in range(k, 200, 10)
        )
        assert budget_of(database, key_id) == (10**9, sum(expected[k::10]), 0)
    assert open_reservations(database) == 0


def test_a_budget_running_out_mid_burst_is_never_overdrawn(database: Database) -> None:
    limit = ESTIMATE_MICROS * 25 + ESTIMATE_MICROS // 2
    key_id, secret = make_key(database, budget_micros=limit)
    meter = make_meter(database)
    caller = caller_for(meter, secret)

    def request(i: int) -> str:
        try:
            reservation = reserve(meter, caller, request_id=f"req_{i}")
        except QuotaExceeded:
            return "refused"
        _, spent, reserved = budget_of(database, key_id)
        assert spent + reserved <= limit  # holds never exceed the budget
        meter.commit(reservation, ESTIMATE, latency_ms=1)
        return "charged"

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = Counter(pool.map(request, range(80)))

    _, spent, reserved = budget_of(database, key_id)
    assert results["charged"] == 25 and results["refused"] > 0
    assert spent == 25 * ESTIMATE_MICROS <= limit and reserved == 0
    rows = usage_rows(database)
    assert len(rows) == 25  # refused requests leave no row
    assert sum(row.cost_micros for row in rows) == spent


def test_concurrent_retries_with_one_idempotency_key_are_charged_once(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=10**9)
    meter = make_meter(database)
    caller = caller_for(meter, secret)

    def attempt(i: int) -> Reservation | str:
        try:
            return reserve(meter, caller, request_id=f"try_{i}", idempotency_key="same")
        except IdempotencyConflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=16) as pool:
        first_wave = list(pool.map(attempt, range(16)))
    winners = [r for r in first_wave if isinstance(r, Reservation)]
    assert len(winners) == 1 and first_wave.count("conflict") == 15
    meter.commit(winners[0], ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    with ThreadPoolExecutor(max_workers=16) as pool:
        replays = list(pool.map(attempt, range(16)))
    assert all(isinstance(r, Reservation) and r.replayed and r.id == winners[0].id for r in replays)
    assert all(isinstance(r, Reservation) and r.replay == RESPONSE for r in replays)
    assert len(usage_rows(database)) == 1
    assert budget_of(database, key_id) == (10**9, ESTIMATE_MICROS, 0)
