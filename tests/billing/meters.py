"""Helpers for the meter tests: build meters, make keys, read budgets and rows back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gazo.billing.idempotency import StoredImage, StoredResponse
from gazo.billing.limits import LocalRateLimiter, RateLimiter
from gazo.billing.meter import Caller, Meter, Reservation
from gazo.billing.tokens import TokenUsage
from gazo.settings import BillingSettings
from gazo.store import keys
from gazo.store.database import Database
from gazo.store.tables import Budget, Usage
from gazo.store.tables import Reservation as ReservationRow

#: 10 text tokens and one low-quality 1024x1024 image: 10 * 5 + 272 * 40 micro-dollars.
ESTIMATE = TokenUsage(text_input_tokens=10, image_output_tokens=272)
ESTIMATE_MICROS = 10_930
#: A request's fingerprint (see `ImageRequest.fingerprint`) and the response stored for its retries.
FINGERPRINT = bytes(range(32))
RESPONSE = StoredResponse(created=1_700_000_000, images=(StoredImage(0, b"\x89PNG image bytes", ESTIMATE),))


def make_meter(database: Database, limiter: RateLimiter | None = None, **settings: Any) -> Meter:
    return Meter(database, BillingSettings(**settings), limiter or LocalRateLimiter())


def make_key(database: Database, name: str = "k", **options: Any) -> tuple[str, str]:
    """(key id, secret)."""
    with database.transaction() as session:
        info, secret = keys.create_key(session=session, name=name, **options)
    return info.id, secret


def caller_for(meter: Meter, secret: str) -> Caller:
    return meter.authenticate(f"Bearer {secret}")


def reserve(meter: Meter, caller: Caller, request_id: str = "req", **overrides: Any) -> Reservation:
    request: dict[str, Any] = {
        "model": "gpt-image-1",
        "operation": "generation",
        "size": "1024x1024",
        "quality": "low",
        "n": 1,
        "estimate": ESTIMATE,
        "request_id": request_id,
    }
    if overrides.get("idempotency_key") is not None:
        request["fingerprint"] = FINGERPRINT
    return meter.reserve(caller, **{**request, **overrides})


def budget_of(database: Database, key_id: str) -> tuple[int, int, int]:
    """(limit, spent, reserved) in micro-dollars."""
    with database.reading() as session:
        row = session.execute(
            select(Budget.limit_micros, Budget.spent_micros, Budget.reserved_micros).where(
                Budget.key_id == key_id
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def usage_rows(database: Database) -> list[Usage]:
    with database.reading() as session:
        return list(session.scalars(select(Usage).order_by(Usage.created_at)).all())


def open_reservations(database: Database) -> int:
    with database.reading() as session:
        return int(session.scalar(select(func.count()).select_from(ReservationRow)) or 0)
