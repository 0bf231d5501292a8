"""Usage rows and reservations: write a request's row, settle it once, release what was abandoned.

A request's row is inserted as ``reserved`` (with its hold in ``reservations``) and later updated in
place to its outcome, so there is exactly one row per request whatever happens. Every writer
touches the usage row before the reservation row, so commit and stale-release cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import BigInteger

from gazo.store.database import changed
from gazo.store.tables import ABANDONED, RESERVED, SUCCEEDED, Reservation, RetainedPrompt, Usage

GROUP_COLUMNS = ("key_id", "org_id", "model", "operation", "size", "quality", "status", "batch_id")


class DuplicateIdempotencyKey(Exception):
    """A live row (in flight or succeeded) already has this key's Idempotency-Key."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation taken off the table: how much it held and on which budgets."""

    amount_micros: int
    key_budget_id: str | None
    org_budget_id: str | None


@dataclass(frozen=True, slots=True)
class LiveRequest:
    """The in-flight or succeeded row that holds an Idempotency-Key."""

    id: str
    status: str
    request_hash: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HeldReservation:
    id: str
    holder_host: str
    holder_pid: int
    expires_at: datetime


def insert_reserved(
    *,
    session: Session,
    usage_id: str,
    key_id: str | None,
    org_id: str | None,
    model: str,
    operation: str,
    size: str,
    quality: str,
    n: int,
    reserved_micros: int,
    request_id: str,
    idempotency_key: str | None,
    now: datetime,
    request_hash: str | None = None,
    batch_id: str | None = None,
) -> None:
    """Insert a request's ``reserved`` row; raises :class:`DuplicateIdempotencyKey` on a live duplicate."""
    row = Usage(
        id=usage_id,
        key_id=key_id,
        org_id=org_id,
        model=model,
        operation=operation,
        size=size,
        quality=quality,
        n=n,
        text_input_tokens=0,
        image_input_tokens=0,
        image_output_tokens=0,
        reserved_micros=reserved_micros,
        cost_micros=0,
        status=RESERVED,
        request_id=request_id,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        batch_id=batch_id,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:
        if "uq_usage_idempotency" in str(error.orig):
            raise DuplicateIdempotencyKey(row.idempotency_key) from error
        raise


def find_live(*, session: Session, key_id: str | None, idempotency_key: str) -> LiveRequest | None:
    """The in-flight or succeeded row with this Idempotency-Key, if any."""
    row = session.execute(
        select(Usage.id, Usage.status, Usage.request_hash, Usage.created_at).where(
            func.coalesce(Usage.key_id, "") == (key_id or ""),
            Usage.idempotency_key == idempotency_key,
            Usage.status.in_((RESERVED, SUCCEEDED)),
        )
    ).first()
    return None if row is None else LiveRequest(row[0], row[1], row[2], row[3])


def insert_reservation(
    *,
    session: Session,
    usage_id: str,
    amount_micros: int,
    budget_ids: tuple[str | None, str | None],
    holder_host: str,
    holder_pid: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Record the hold of a request in flight and the process that holds it."""
    session.add(
        Reservation(
            id=usage_id,
            amount_micros=amount_micros,
            key_budget_id=budget_ids[0],
            org_budget_id=budget_ids[1],
            holder_host=holder_host,
            holder_pid=holder_pid,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()


def settle_row(
    *, session: Session, usage_id: str, values: dict[str, Any]
) -> tuple[str | None, str | None] | None:
    """Set an unsettled row's outcome; returns its (key_id, org_id), or None if it was settled already."""
    updated = changed(
        session.execute(
            update(Usage)
            .where(Usage.id == usage_id, Usage.status.in_((RESERVED, ABANDONED)))
            .values(**values)
        )
    )
    if updated != 1:
        return None
    row = session.execute(select(Usage.key_id, Usage.org_id).where(Usage.id == usage_id)).one()
    return row[0], row[1]


def abandon_row(*, session: Session, usage_id: str, now: datetime) -> bool:
    """Mark an in-flight row abandoned (its process died); False if it was settled meanwhile."""
    return (
        changed(
            session.execute(
                update(Usage)
                .where(Usage.id == usage_id, Usage.status == RESERVED)
                .values(status=ABANDONED, settled_at=now)
            )
        )
        == 1
    )


def take_reservation(*, session: Session, usage_id: str) -> Hold | None:
    """Delete a reservation and return what it held; None if another transaction took it first."""
    row = session.execute(
        select(Reservation.amount_micros, Reservation.key_budget_id, Reservation.org_budget_id).where(
            Reservation.id == usage_id
        )
    ).first()
    if row is None:
        return None
    taken = changed(session.execute(delete(Reservation).where(Reservation.id == usage_id)))
    return Hold(int(row[0]), row[1], row[2]) if taken == 1 else None


def held_reservations(*, session: Session, expired_before: datetime, host: str) -> list[HeldReservation]:
    """Reservations past their expiry, plus every reservation held by a process on ``host``."""
    rows = session.scalars(
        select(Reservation).where(
            or_(Reservation.expires_at < expired_before, Reservation.holder_host == host)
        )
    ).all()
    return [HeldReservation(r.id, r.holder_host, r.holder_pid, r.expires_at) for r in rows]


def retain_prompt(*, session: Session, usage_id: str, prompt: str, now: datetime) -> None:
    session.add(RetainedPrompt(usage_id=usage_id, prompt=prompt, created_at=now))
    session.flush()


def purge_prompts(*, session: Session, before: datetime) -> int:
    """Delete retained prompts older than ``before``; returns how many went."""
    return changed(session.execute(delete(RetainedPrompt).where(RetainedPrompt.created_at < before)))


class epoch_seconds(FunctionElement[int]):
    """Unix seconds of a UTC timestamp column, on SQLite and PostgreSQL alike."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Sums over settled rows of one (bucket, group)."""

    bucket: int
    group: dict[str, str | None]
    requests: int
    succeeded: int
    images: int
    text_input_tokens: int
    image_input_tokens: int
    image_output_tokens: int
    cost_micros: int


def aggregate(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    bucket_seconds: int | None = None,
    group_by: Sequence[str] = (),
    filters: dict[str, Sequence[str]] | None = None,
) -> list[UsageTotals]:
    """Settled usage in ``[start, end)``, summed per time bucket (index from ``start``) and group.

    ``filters`` maps a column of :data:`GROUP_COLUMNS` to the values to keep. In-flight rows are
    left out; images and tokens count succeeded requests only, ``requests`` counts every outcome.
    """
    unknown = [name for name in (*group_by, *(filters or {})) if name not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group or filter usage by {unknown}")
    ok = Usage.status == SUCCEEDED
    bucket_column = None
    if bucket_seconds:
        # Integer division of non-negative integers: floor on both databases.
        offset_s = epoch_seconds(Usage.created_at) - int(start.timestamp())
        bucket_column = (offset_s // bucket_seconds).label("bucket")
    groups = [getattr(Usage, name) for name in group_by]

    def when_ok(column: Any) -> Any:
        return func.coalesce(func.sum(column).filter(ok), 0)

    query = select(
        *([bucket_column] if bucket_column is not None else []),
        *groups,
        func.count(),
        func.count().filter(ok),
        when_ok(Usage.n),
        when_ok(Usage.text_input_tokens),
        when_ok(Usage.image_input_tokens),
        when_ok(Usage.image_output_tokens),
        func.coalesce(func.sum(Usage.cost_micros), 0),
    ).where(Usage.created_at >= start, Usage.created_at < end, Usage.status != RESERVED)
    for name, values in (filters or {}).items():
        query = query.where(getattr(Usage, name).in_(list(values)))
    keys = ([bucket_column] if bucket_column is not None else []) + groups
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    offset = 1 if bucket_column is not None else 0
    totals = []
    for row in session.execute(query).all():
        numbers = [int(value) for value in row[offset + len(groups) :]]
        totals.append(
            UsageTotals(
                int(row[0]) if offset else 0,
                dict(zip(group_by, _labels(row[offset : offset + len(groups)]), strict=True)),
                *numbers,
            )
        )
    return totals


def _labels(values: Sequence[Any]) -> list[str | None]:
    """A result row's group columns (key ids, model names, org ids) as the labels they are."""
    return [None if value is None else str(value) for value in values]
