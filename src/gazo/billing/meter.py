"""The money path: who is calling, may they, and what did it cost — reserve → commit | release.

Every request gets exactly one usage row. :meth:`Meter.reserve` checks the rate limits, prices the
estimate, and in one transaction writes the row as ``reserved`` and holds the estimate on the
key's and organisation's budgets (refusing with ``insufficient_quota`` when it does not fit).
:meth:`Meter.commit` settles the row with the real tokens and moves the hold to spend in one
transaction; :meth:`Meter.release` settles it at zero. A retry carrying the same Idempotency-Key
and body as a succeeded request is a *replay*: it gets the earlier row's id and stored response
(see :mod:`gazo.billing.idempotency`), passes no limit and is never charged again.
Holds of a process that died are given back by :meth:`Meter.release_stale`, which runs when a
meter starts (dead processes on this host) and should run periodically (expired holds anywhere).
A line of a batch (``batch_id``) is held and charged at ``billing.batch_price_factor`` of the price,
and its row carries the batch id, so budgets see the discount and reports can group by batch.

Everything is synchronous and thread-safe; the HTTP layer calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from gazo.billing import reports
from gazo.billing.auth import Authenticator
from gazo.billing.idempotency import (
    KEEP,
    Idempotency,
    IdempotencyKeyReused,
    StoredResponse,
    find_replay,
    seal_response,
)
from gazo.billing.limits import RateLimiter, RateLimitStatus, make_limiter
from gazo.billing.prices import PriceTable, micros_to_usd
from gazo.billing.tokens import TokenUsage
from gazo.billing.values import (
    RELEASE_STATUSES,
    Caller,
    IdempotencyConflict,
    Outcome,
    Reservation,
    host_identity,
    process_alive,
)
from gazo.errors import InvalidRequest, QuotaExceeded, RateLimited
from gazo.settings import BillingSettings, Settings
from gazo.store import budgets, responses
from gazo.store import usage as usage_rows
from gazo.store.database import Database
from gazo.store.tables import ABANDONED, RESERVED, SUCCEEDED, new_id, utcnow

__all__ = [
    "RELEASE_STATUSES",
    "Caller",
    "IdempotencyConflict",
    "IdempotencyKeyReused",
    "Meter",
    "Outcome",
    "Reservation",
]

#: What the service books a request as (the usage API's `operation` values gazo serves).
_OPERATIONS = frozenset({"generation", "edit"})
_CONFLICT_RETRY_S = 2


class Meter:
    """Authentication, rate limits, budgets and usage rows for one gazo process."""

    def __init__(
        self,
        database: Database,
        settings: BillingSettings,
        limiter: RateLimiter | None = None,
        *,
        release_stale_on_start: bool = True,
    ) -> None:
        self.database = database
        self.settings = settings
        self.limiter = limiter or make_limiter(None)
        self.prices = PriceTable(settings.prices, batch_factor=settings.batch_price_factor)
        self.auth = Authenticator(database, settings)
        self._host = host_identity()
        if release_stale_on_start:
            self.release_stale()

    @classmethod
    def from_settings(cls, settings: Settings) -> Meter:
        """Open (and migrate) the configured database, pick the limiter, release dead holds."""
        database = Database.from_settings(settings)
        database.upgrade()
        return cls(database, settings.billing, make_limiter(settings.redis_url))

    # 1. Who is calling (see :mod:`gazo.billing.auth`)
    def authenticate(self, authorization: str | None, *, allow_open: bool = False) -> Caller:
        """The caller behind an ``Authorization: Bearer`` header, or open mode, or 401."""
        return self.auth.authenticate(authorization, allow_open=allow_open)

    def auth_mode(self, *, allow_open: bool) -> str:
        """``open`` or ``closed`` right now, for the start-up log."""
        return self.auth.mode(allow_open=allow_open)

    # 2. Before rendering
    def reserve(
        self,
        caller: Caller,
        *,
        model: str,
        operation: str,
        size: str,
        quality: str,
        n: int,
        estimate: TokenUsage,
        request_id: str,
        idempotency_key: str | None = None,
        fingerprint: bytes | None = None,
        batch_id: str | None = None,
        now: datetime | None = None,
    ) -> Reservation:
        """Check limits and hold the estimate's price; raises RateLimited or QuotaExceeded.

        With an ``idempotency_key``, ``fingerprint`` (the SHA-256 of everything that shapes the
        output) is required: a retry of a succeeded request gets a replay, which needs no budget and
        books no images, but counts as a request per minute (a replay is not free to serve: it reads
        and decrypts up to n whole images); the key reused with another body raises
        IdempotencyKeyReused. ``batch_id``: the request is a line of that batch, priced as one."""
        operation = _check_operation(operation)
        now = now or utcnow()
        idempotency = _idempotency(caller, idempotency_key, fingerprint)
        if idempotency is not None:
            with self.database.reading() as session:
                found = find_replay(
                    session=session, key_id=caller.key_id, idempotency=idempotency, now=now, writable=False
                )
            if found is not None:
                return self._replay(caller, model, found, self._acquire(caller, images=0).headers())
        status = self._acquire(caller, images=n)
        amount = self.prices.cost_micros(model, estimate, batch=batch_id is not None)
        request = {
            "model": model,
            "operation": operation,
            "size": size,
            "quality": quality,
            "n": n,
            "batch_id": batch_id,
        }
        for _attempt in range(3):
            try:
                return self._hold(caller, request, amount, request_id, idempotency, status.headers(), now)
            except usage_rows.DuplicateIdempotencyKey:
                continue  # raced another request with the same key: look again
        raise IdempotencyConflict(
            "Another request with this Idempotency-Key is in progress.",
            param="Idempotency-Key",
            headers={"retry-after": str(_CONFLICT_RETRY_S)},
        )

    def _hold(
        self,
        caller: Caller,
        request: dict[str, Any],
        amount: int,
        request_id: str,
        idempotency: Idempotency | None,
        headers: dict[str, str],
        now: datetime,
    ) -> Reservation:
        usage_id = new_id("usage")
        try:
            with self.database.transaction() as session:
                if idempotency is not None:
                    found = find_replay(
                        session=session, key_id=caller.key_id, idempotency=idempotency, now=now, writable=True
                    )
                    if found is not None:  # raced the first request's commit (its request is booked)
                        return self._replay(caller, request["model"], found, headers)
                usage_rows.insert_reserved(
                    session=session,
                    usage_id=usage_id,
                    key_id=caller.key_id,
                    org_id=caller.org_id,
                    reserved_micros=amount,
                    request_id=request_id,
                    idempotency_key=idempotency.key if idempotency else None,
                    request_hash=idempotency.request_hash if idempotency else None,
                    now=now,
                    **request,
                )
                ids = budgets.budget_ids_for(session=session, key_id=caller.key_id, org_id=caller.org_id)
                budgets.hold(session=session, budget_ids=ids, amount_micros=amount, now=now)
                usage_rows.insert_reservation(
                    session=session,
                    usage_id=usage_id,
                    amount_micros=amount,
                    budget_ids=ids,
                    holder_host=self._host,
                    holder_pid=os.getpid(),
                    now=now,
                    expires_at=now + timedelta(seconds=self.settings.reservation_timeout_s),
                )
        except budgets.BudgetExhausted as error:
            raise QuotaExceeded(
                "You exceeded your current quota: this month's budget of "
                f"${micros_to_usd(error.limit_micros):.2f} is spent (or too little of it is left for "
                "this request). Ask your gazo administrator to raise it.",
                headers=headers,
            ) from None
        return Reservation(
            usage_id,
            caller,
            request["model"],
            amount,
            rate_limit_headers=headers,
            idempotency=idempotency,
            batch_id=request["batch_id"],
        )

    def count_request(self, caller: Caller) -> None:
        """Book one request, no images, against the caller's rate limits, or raise RateLimited: for a
        refused request that still sets the server to work (the model load behind a 503
        `model_loading`), so that refusals cannot be sent faster than the caller's requests per minute."""
        self._acquire(caller, images=0)

    def _acquire(self, caller: Caller, *, images: int) -> RateLimitStatus:
        """Book one request and `images` images against the caller's limits, or raise RateLimited."""
        status = self.limiter.acquire(caller.identity, rpm=caller.rpm, ipm=caller.ipm, images=images)
        if not status.allowed:
            kind = status.refused_by or "requests"
            limit = status.states[kind].limit
            raise RateLimited(
                f"Rate limit reached for {caller.key_name or caller.identity} on {kind} per minute: "
                f"limit {limit}, requested {1 if kind == 'requests' else images}. Please retry after "
                f"{status.headers()['retry-after']}s.",
                headers=status.headers(),
            )
        return status

    def _replay(
        self, caller: Caller, model: str, found: tuple[str, StoredResponse], headers: dict[str, str]
    ) -> Reservation:
        usage_id, stored = found
        return Reservation(
            usage_id, caller, model, 0, replayed=True, rate_limit_headers=headers, replay=stored
        )

    # 3. After rendering
    def commit(
        self,
        reservation: Reservation,
        usage: TokenUsage,
        *,
        latency_ms: int,
        status: str = SUCCEEDED,
        n: int | None = None,
        prompt: str | None = None,
        replay_payload: StoredResponse | None = None,
    ) -> Outcome:
        """Charge ``usage`` and settle the budget in one transaction (``n``: images actually made).

        ``prompt`` is stored only when ``billing.retention_days`` > 0. ``replay_payload``, the response,
        is stored sealed in the same transaction when the request has an Idempotency-Key, for its
        retries. Committing twice, or committing a replay, charges nothing more.
        """
        if status in (RESERVED, ABANDONED):
            raise ValueError(f"`status` {status!r} is not an outcome")
        if reservation.replayed:
            return Outcome(reservation.id, SUCCEEDED, 0, replayed=True)
        cost = self.prices.cost_micros(reservation.model, usage, batch=reservation.batch_id is not None)
        values: dict[str, Any] = {
            "status": status,
            "text_input_tokens": usage.text_input_tokens,
            "image_input_tokens": usage.image_input_tokens,
            "image_output_tokens": usage.image_output_tokens,
            "cost_micros": cost,
            "latency_ms": latency_ms,
        }
        if n is not None:
            values["n"] = n
        keep = prompt if self.settings.retention_days > 0 else None
        sealed = None
        if replay_payload is not None and reservation.idempotency is not None and status == SUCCEEDED:
            sealed = seal_response(reservation.idempotency, reservation.id, replay_payload)
        settled = self._settle(reservation, values, cost, prompt=keep, sealed=sealed)
        return Outcome(reservation.id, status, cost if settled else 0, replayed=not settled)

    def release(self, reservation: Reservation, *, status: str, latency_ms: int | None = None) -> Outcome:
        """Settle at no charge: ``failed``, ``moderation_blocked`` or ``cancelled``."""
        if status not in RELEASE_STATUSES:
            raise ValueError(f"`status` must be one of {', '.join(RELEASE_STATUSES)}, got {status!r}")
        if reservation.replayed:
            return Outcome(reservation.id, status, 0, replayed=True)
        values = {"status": status, "cost_micros": 0, "latency_ms": latency_ms}
        settled = self._settle(reservation, values, 0)
        return Outcome(reservation.id, status, 0, replayed=not settled)

    def _settle(
        self,
        reservation: Reservation,
        values: dict[str, Any],
        cost: int,
        *,
        prompt: str | None = None,
        sealed: bytes | None = None,
    ) -> bool:
        with self.database.transaction() as session:
            now = values["settled_at"] = utcnow()
            owner = usage_rows.settle_row(session=session, usage_id=reservation.id, values=values)
            if owner is None:
                return False
            hold = usage_rows.take_reservation(session=session, usage_id=reservation.id)
            if hold is not None:
                ids = (hold.key_budget_id, hold.org_budget_id)
                held = hold.amount_micros
            else:  # released as stale meanwhile: its hold is gone, the charge still counts
                ids, held = budgets.budget_ids_for(session=session, key_id=owner[0], org_id=owner[1]), 0
            budgets.settle(session=session, budget_ids=ids, held_micros=held, cost_micros=cost)
            if prompt is not None:
                usage_rows.retain_prompt(session=session, usage_id=reservation.id, prompt=prompt, now=now)
            if sealed is not None:
                responses.save_response(
                    session=session, usage_id=reservation.id, payload=sealed, now=now, keep=KEEP
                )
        return True

    # 4. Housekeeping
    def release_stale(self, *, now: datetime | None = None) -> int:
        """Give back holds whose process died (same host) or that expired; returns how many."""
        now = now or utcnow()
        with self.database.reading() as session:
            held = usage_rows.held_reservations(session=session, expired_before=now, host=self._host)
        released = 0
        for item in held:
            if item.expires_at >= now and process_alive(item.holder_pid):
                continue
            with self.database.transaction() as session:
                if not usage_rows.abandon_row(session=session, usage_id=item.id, now=now):
                    continue
                hold = usage_rows.take_reservation(session=session, usage_id=item.id)
                if hold is not None:
                    ids = (hold.key_budget_id, hold.org_budget_id)
                    budgets.settle(
                        session=session, budget_ids=ids, held_micros=hold.amount_micros, cost_micros=0
                    )
                released += 1
        return released

    def purge_retained(self, *, now: datetime | None = None) -> int:
        """Delete prompts older than ``retention_days`` (all of them when retention is off)."""
        cutoff = (now or utcnow()) - timedelta(days=self.settings.retention_days)
        with self.database.transaction() as session:
            return usage_rows.purge_prompts(session=session, before=cutoff)

    def purge_idempotent(self, *, now: datetime | None = None) -> int:
        """Delete stored responses older than 24 h and free their Idempotency-Keys; returns how many."""
        with self.database.transaction() as session:
            return responses.purge_expired(session=session, now=now or utcnow())

    # 5. Reading
    def usage_buckets(self, caller: Caller, **params: Any) -> dict[str, Any]:
        """``GET /v1/organization/usage/images`` (see :func:`gazo.billing.reports.usage_images`)."""
        return reports.usage_images(self.database, caller, **params)

    def costs(self, caller: Caller, **params: Any) -> dict[str, Any]:
        """``GET /v1/organization/costs`` (see :func:`gazo.billing.reports.costs`)."""
        return reports.costs(self.database, caller, **params)


def _idempotency(caller: Caller, key: str | None, fingerprint: bytes | None) -> Idempotency | None:
    if key is None:
        return None
    if not 0 < len(key) <= 255:
        raise InvalidRequest("`Idempotency-Key` must be 1-255 characters", param="Idempotency-Key")
    if fingerprint is None:
        raise ValueError("an `idempotency_key` needs the request's `fingerprint`")
    return Idempotency.derive(key, fingerprint, caller.key_id)


def _check_operation(operation: str) -> str:
    if operation not in _OPERATIONS:
        raise InvalidRequest(f"unknown operation {operation!r}", param="operation")
    return operation
