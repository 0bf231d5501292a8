"""Idempotent replay in the meter, on SQLite and PostgreSQL: the stored response, reused keys, 24 h expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gazo.billing.idempotency import Idempotency, IdempotencyKeyReused, open_response
from gazo.billing.meter import IdempotencyConflict
from gazo.errors import QuotaExceeded, RateLimited
from gazo.store.database import Database
from gazo.store.tables import IdempotentResponse, utcnow
from tests.billing.meters import (
    ESTIMATE,
    ESTIMATE_MICROS,
    FINGERPRINT,
    RESPONSE,
    budget_of,
    caller_for,
    make_key,
    make_meter,
    reserve,
    usage_rows,
)

OTHER_BODY = bytes(reversed(range(32)))


def stored_payloads(database: Database) -> list[bytes]:
    with database.reading() as session:
        return list(session.scalars(select(IdempotentResponse.payload)).all())


def test_a_replay_needs_no_budget_and_books_no_images_but_counts_as_a_request(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=ESTIMATE_MICROS + 5, rpm=4, ipm=1)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    meter.commit(reserve(meter, caller, idempotency_key="k"), ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    with pytest.raises((QuotaExceeded, RateLimited)):  # budget and images per minute are both spent
        reserve(meter, caller)
    for _ in range(3):  # requests 2-4 of the minute: no budget and no image needed
        replay = reserve(meter, caller, idempotency_key="k")
        assert (replay.replayed, replay.replay, replay.amount_micros) == (True, RESPONSE, 0)
    with pytest.raises(RateLimited) as limited:  # ... but a replay is a request: no free unbounded reads
        reserve(meter, caller, idempotency_key="k")
    assert "requests per minute" in limited.value.message
    assert len(usage_rows(database)) == 1
    assert budget_of(database, key_id) == (ESTIMATE_MICROS + 5, ESTIMATE_MICROS, 0)


def test_a_key_reused_with_another_body_is_refused(database: Database) -> None:
    _, secret = make_key(database, budget_micros=ESTIMATE_MICROS + 5)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    first = reserve(meter, caller, idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):  # refused while the first still runs, too
        reserve(meter, caller, idempotency_key="k", fingerprint=OTHER_BODY)
    with pytest.raises(IdempotencyConflict):
        reserve(meter, caller, idempotency_key="k")
    meter.commit(first, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    with pytest.raises(IdempotencyKeyReused) as raised:  # budget spent: still a 422, not a free render
        reserve(meter, caller, idempotency_key="k", fingerprint=OTHER_BODY, n=3, quality="high")
    error = raised.value
    assert (error.status, error.type, error.code, error.param) == (
        422,
        "invalid_request_error",
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    assert "different request body" in error.message
    assert len(usage_rows(database)) == 1
    with pytest.raises(ValueError, match="fingerprint"):
        meter.reserve(
            caller,
            model="gpt-image-1",
            operation="generation",
            size="1024x1024",
            quality="low",
            n=1,
            estimate=ESTIMATE,
            request_id="r",
            idempotency_key="k",
        )


def test_the_stored_response_opens_only_for_the_same_key_body_and_caller(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=10**9)
    meter = make_meter(database)
    first = reserve(meter, caller_for(meter, secret), idempotency_key="k")
    meter.commit(first, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    (sealed,) = stored_payloads(database)
    assert b"PNG" not in sealed and b"image bytes" not in sealed
    assert open_response(Idempotency.derive("k", FINGERPRINT, key_id), first.id, sealed) == RESPONSE
    for wrong in (
        Idempotency.derive("k2", FINGERPRINT, key_id),
        Idempotency.derive("k", OTHER_BODY, key_id),
        Idempotency.derive("k", FINGERPRINT, "key_other"),
    ):
        assert open_response(wrong, first.id, sealed) is None
    assert open_response(Idempotency.derive("k", FINGERPRINT, key_id), "usage_other", sealed) is None
    # Without an Idempotency-Key nothing is stored.
    meter.commit(reserve(meter, caller_for(meter, secret)), ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    assert len(stored_payloads(database)) == 1


def test_a_key_is_free_again_after_24_hours(database: Database) -> None:
    key_id, secret = make_key(database, budget_micros=10**9)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    first = reserve(meter, caller, idempotency_key="k")
    meter.commit(first, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    later = utcnow() + timedelta(hours=23)
    assert reserve(meter, caller, idempotency_key="k", now=later).replayed
    with pytest.raises(IdempotencyKeyReused):
        reserve(meter, caller, idempotency_key="k", fingerprint=OTHER_BODY, now=later)

    # A day on, the key runs afresh, even with another body, and is charged; the old response is gone.
    fresh = reserve(
        meter, caller, idempotency_key="k", fingerprint=OTHER_BODY, now=utcnow() + timedelta(hours=25)
    )
    assert not fresh.replayed and fresh.id != first.id
    meter.commit(fresh, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    rows = {row.id: row for row in usage_rows(database)}
    assert rows[first.id].idempotency_key is None
    assert rows[fresh.id].idempotency_key not in (None, "k")  # kept as a digest, never as sent
    assert len(stored_payloads(database)) == 1
    assert budget_of(database, key_id)[1] == 2 * ESTIMATE_MICROS


def test_the_sweep_deletes_expired_responses_and_frees_their_keys(database: Database) -> None:
    _, secret = make_key(database, budget_micros=10**9)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    first = reserve(meter, caller, idempotency_key="k")
    meter.commit(first, ESTIMATE, latency_ms=1, replay_payload=RESPONSE)
    assert meter.purge_idempotent() == 0
    assert meter.purge_idempotent(now=utcnow() + timedelta(hours=24, seconds=1)) == 1
    assert stored_payloads(database) == []
    assert [row.idempotency_key for row in usage_rows(database)] == [None]
    assert not reserve(meter, caller, idempotency_key="k").replayed


def test_a_success_whose_response_is_not_stored_is_not_rendered_again(database: Database) -> None:
    _, secret = make_key(database, budget_micros=10**9)
    meter = make_meter(database)
    caller = caller_for(meter, secret)
    meter.commit(reserve(meter, caller, idempotency_key="k"), ESTIMATE, latency_ms=1)  # no payload given
    with pytest.raises(IdempotencyKeyReused, match="not stored"):
        reserve(meter, caller, idempotency_key="k")
    assert len(usage_rows(database)) == 1
