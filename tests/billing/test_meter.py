"""The money path on SQLite and PostgreSQL: authenticate, reserve → commit | release, budgets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gazo.billing.meter import Meter
from gazo.billing.tokens import TokenUsage
from gazo.errors import AuthenticationFailed, QuotaExceeded, RateLimited
from gazo.store import keys
from gazo.store.database import Database, sqlite_url
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


def test_open_mode_only_without_keys_and_when_allowed(database: Database) -> None:
    meter = make_meter(database, default_rpm=7)
    caller = meter.authenticate("Bearer sk-anything", allow_open=True)
    assert (caller.open_mode, caller.is_admin, caller.key_id, caller.rpm) == (True, True, None, 7)
    with pytest.raises(AuthenticationFailed, match="didn't provide an API key"):
        meter.authenticate(None)
    with pytest.raises(AuthenticationFailed):
        make_meter(database, require_auth=True).authenticate(None, allow_open=True)
    make_key(database)
    with pytest.raises(AuthenticationFailed) as raised:
        meter.authenticate("Bearer sk-anything", allow_open=True)
    assert (raised.value.status, raised.value.code) == (401, "invalid_api_key")


def test_a_key_authenticates_until_revoked(database: Database) -> None:
    key_id, secret = make_key(database, name="ci", org_name="acme", is_admin=True, rpm=3)
    meter = make_meter(database, default_ipm=9)
    caller = caller_for(meter, secret)
    assert (caller.key_id, caller.is_admin, caller.open_mode, caller.rpm, caller.ipm) == (
        key_id,
        True,
        False,
        3,
        9,
    )
    assert caller.org_id is not None
    with pytest.raises(AuthenticationFailed, match=r"gz-[\w-]{3}\*\*\*"):
        meter.authenticate(f"Bearer {secret[:-1]}Z")
    with database.transaction() as session:
        keys.revoke_key(session=session, key=key_id)
    assert caller_for(meter, secret) == caller  # remembered for billing.auth_cache_s (1 s) ...
    time.sleep(1.05)
    with pytest.raises(AuthenticationFailed):  # ... and no longer
        caller_for(meter, secret)


def test_without_the_key_cache_a_revoked_key_fails_at_once(database: Database) -> None:
    key_id, secret = make_key(database, name="uncached")
    meter = make_meter(database, auth_cache_s=0)
    assert caller_for(meter, secret).key_id == key_id
    with database.transaction() as session:
        keys.revoke_key(session=session, key=key_id)
    with pytest.raises(AuthenticationFailed):
        caller_for(meter, secret)


def test_open_mode_ends_for_good_with_the_first_key(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "fresh.db"))
    database.upgrade()
    meter = make_meter(database)
    assert meter.authenticate(None, allow_open=True).open_mode
    assert meter.authenticate("Bearer gz-whatever", allow_open=True).open_mode  # SDKs always send one
    key_id, _ = make_key(database, name="closer")
    with database.transaction() as session:
        keys.revoke_key(session=session, key=key_id)
    with pytest.raises(AuthenticationFailed):
        meter.authenticate(None, allow_open=True)
    assert meter.auth_mode(allow_open=True) == "closed"
    assert make_meter(database, allow_open_with_keys=True).authenticate(None, allow_open=True).open_mode


def test_reserve_then_commit_writes_one_row_and_charges_the_budget(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    meter = make_meter(database)
    reservation = reserve(meter, caller_for(meter, secret), request_id="req_1")
    assert reservation.amount_micros == ESTIMATE_MICROS
    assert budget_of(database, key_id) == (1_000_000, 0, ESTIMATE_MICROS)
    (row,) = usage_rows(database)
    assert (row.status, row.reserved_micros, row.cost_micros) == ("reserved", ESTIMATE_MICROS, 0)

    actual = TokenUsage(text_input_tokens=10, image_input_tokens=194, image_output_tokens=272)
    outcome = meter.commit(reservation, actual, latency_ms=1234)
    assert (outcome.usage_id, outcome.status, outcome.cost_micros) == (reservation.id, "succeeded", 12_870)
    assert budget_of(database, key_id) == (1_000_000, 12_870, 0)
    (row,) = usage_rows(database)
    assert (row.key_id, row.model, row.operation, row.size, row.quality, row.n) == (
        key_id,
        "gpt-image-1",
        "generation",
        "1024x1024",
        "low",
        1,
    )
    assert (row.text_input_tokens, row.image_input_tokens, row.image_output_tokens) == (10, 194, 272)
    assert (row.cost_micros, row.status, row.latency_ms, row.request_id) == (
        12_870,
        "succeeded",
        1234,
        "req_1",
    )
    assert row.settled_at is not None and open_reservations(database) == 0
    # Committing again changes nothing.
    assert meter.commit(reservation, actual, latency_ms=1).replayed
    assert budget_of(database, key_id) == (1_000_000, 12_870, 0)


@pytest.mark.parametrize("status", ["failed", "moderation_blocked", "cancelled"])
def test_release_charges_nothing(database: Database, status: str) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    meter = make_meter(database)
    reservation = reserve(meter, caller_for(meter, secret), operation="edit")
    outcome = meter.release(reservation, status=status, latency_ms=5)
    assert (outcome.status, outcome.cost_micros) == (status, 0)
    assert budget_of(database, key_id) == (1_000_000, 0, 0)
    (row,) = usage_rows(database)
    assert (row.status, row.cost_micros, row.operation) == (status, 0, "edit")
    assert open_reservations(database) == 0
    with pytest.raises(ValueError, match="status"):
        meter.release(reservation, status="succeeded")


def test_quota_exceeded_leaves_nothing_behind(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=ESTIMATE_MICROS + 5)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    meter.commit(reserve(meter, caller), ESTIMATE, latency_ms=1)
    with pytest.raises(QuotaExceeded) as raised:
        reserve(meter, caller)
    assert (raised.value.status, raised.value.code, raised.value.type) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    assert len(usage_rows(database)) == 1 and open_reservations(database) == 0
    assert budget_of(database, key_id) == (ESTIMATE_MICROS + 5, ESTIMATE_MICROS, 0)


def test_organisation_budget_applies_to_all_its_keys(database: Database) -> None:
    from gazo.store import budgets

    _, first = make_key(database, name="a", org_name="acme")
    _, second = make_key(database, name="b", org_name="acme")
    meter = make_meter(database)
    org_id = caller_for(meter, first).org_id
    with database.transaction() as session:
        budgets.set_budget(session=session, org_id=org_id, limit_micros=ESTIMATE_MICROS * 2)
    meter.commit(reserve(meter, caller_for(meter, first)), ESTIMATE, latency_ms=1)
    meter.commit(reserve(meter, caller_for(meter, second)), ESTIMATE, latency_ms=1)
    with pytest.raises(QuotaExceeded):
        reserve(meter, caller_for(meter, first))


def test_idempotency_key_replays_a_success_and_retries_a_failure(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=1_000_000)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    first = reserve(meter, caller, idempotency_key="idem-1")
    from gazo.billing.meter import IdempotencyConflict

    with pytest.raises(IdempotencyConflict) as raised:  # still running
        reserve(meter, caller, idempotency_key="idem-1")
    assert raised.value.status == 409 and raised.value.headers["retry-after"]
    meter.commit(first, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    again = reserve(meter, caller, idempotency_key="idem-1")
    assert again.replayed and again.id == first.id and again.amount_micros == 0
    assert again.replay == RESPONSE
    assert meter.commit(again, ESTIMATE, latency_ms=1).replayed
    assert len(usage_rows(database)) == 1
    assert budget_of(database, key_id)[1] == ESTIMATE_MICROS
    # Another key may use the same Idempotency-Key; a failed attempt may be retried (and charged).
    _, other = make_key(database, name="other")
    assert not reserve(meter, caller_for(meter, other), idempotency_key="idem-1").replayed
    failed = reserve(meter, caller, idempotency_key="idem-2")
    meter.release(failed, status="failed")
    retried = reserve(meter, caller, idempotency_key="idem-2")
    assert not retried.replayed and retried.id != failed.id
    meter.commit(retried, ESTIMATE, latency_ms=1)
    assert budget_of(database, key_id)[1] == 2 * ESTIMATE_MICROS


def test_rate_limit_refuses_with_headers(database: Database) -> None:
    _, secret = make_key(database, rpm=2, ipm=3)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    reservation = reserve(meter, caller, n=2)
    assert reservation.rate_limit_headers["x-ratelimit-remaining-images"] == "1"
    with pytest.raises(RateLimited) as raised:
        reserve(meter, caller, n=2)
    assert (raised.value.status, raised.value.code) == (429, "rate_limit_exceeded")
    assert raised.value.headers["x-ratelimit-remaining-images"] == "1"
    assert int(raised.value.headers["retry-after"]) >= 1
    assert len(usage_rows(database)) == 1  # a refused request writes no row
    third = reserve(meter, caller, n=1)  # and takes no request of the minute's two: this one fits
    assert third.rate_limit_headers["x-ratelimit-remaining-requests"] == "0"


def test_meter_from_settings_migrates_and_uses_the_data_dir(tmp_path: pytest.TempPathFactory) -> None:
    from gazo.settings import Settings

    meter = Meter.from_settings(Settings.load(data_dir=tmp_path))
    assert meter.authenticate(None, allow_open=True).open_mode
    assert meter.database.url.database.endswith("gazo.db")
    meter.database.dispose()
