"""Rows of ``batches`` and ``batch_lines``: the durable queue of `/v1/batches`.

A line moves by conditional updates only (``UPDATE ... WHERE status = 'pending'``), so two processes
(two gateways, or a restarted server and the one it replaced) never both run it: whoever changes the
row owns the line. Counts are read from the lines, never kept beside them, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from gazo.store.database import changed
from gazo.store.tables import Batch, BatchLine

#: A batch whose lines may still run, or whose output is still being written.
ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
#: Line states that end it.
DONE_LINES = ("succeeded", "failed", "cancelled", "expired")


@dataclass(frozen=True)
class LineCounts:
    total: int
    completed: int
    failed: int
    waiting: int  # pending or running


def visible_to(org_id: str | None, key_id: str | None) -> Any:
    """Batches a caller may see: its organisation's, else its own key's (open mode: the keyless ones)."""
    if org_id is not None:
        return Batch.org_id == org_id
    if key_id is not None:
        return Batch.org_id.is_(None) & (Batch.key_id == key_id)
    return Batch.org_id.is_(None) & Batch.key_id.is_(None)


def add(*, session: Session, batch: Batch, lines: Iterable[BatchLine]) -> None:
    session.add(batch)
    session.flush()
    session.add_all(list(lines))
    session.flush()


def get(*, session: Session, batch_id: str) -> Batch | None:
    return session.get(Batch, batch_id)


def find(*, session: Session, batch_id: str, org_id: str | None, key_id: str | None) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.id == batch_id, visible_to(org_id, key_id)))


def page(
    *, session: Session, org_id: str | None, key_id: str | None, limit: int, after: Batch | None
) -> list[Batch]:
    """Newest first, as OpenAI lists them; `after` is the last batch of the previous page."""
    query = select(Batch).where(visible_to(org_id, key_id))
    if after is not None:
        query = query.where(
            or_(
                Batch.created_at < after.created_at,
                (Batch.created_at == after.created_at) & (Batch.id < after.id),
            )
        )
    return list(session.scalars(query.order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit)))


def active(*, session: Session) -> list[Batch]:
    return list(session.scalars(select(Batch).where(Batch.status.in_(ACTIVE)).order_by(Batch.created_at)))


def counts(*, session: Session, batch_ids: list[str]) -> dict[str, LineCounts]:
    tallies: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    if batch_ids:
        query = (
            select(BatchLine.batch_id, BatchLine.status, func.count())
            .where(BatchLine.batch_id.in_(batch_ids))
            .group_by(BatchLine.batch_id, BatchLine.status)
        )
        for batch_id, status, number in session.execute(query):
            tallies[batch_id][status] = int(number)
    return {
        batch_id: LineCounts(
            total=sum(tally.values()),
            completed=tally.get("succeeded", 0),
            failed=sum(tally.get(status, 0) for status in ("failed", "cancelled", "expired")),
            waiting=tally.get("pending", 0) + tally.get("running", 0),
        )
        for batch_id, tally in tallies.items()
    }


def waiting_lines(*, session: Session, org_id: str | None, key_id: str | None) -> int:
    """Lines of the owner's batches that have not run yet (pending or running)."""
    query = (
        select(func.count())
        .select_from(BatchLine)
        .join(Batch, Batch.id == BatchLine.batch_id)
        .where(visible_to(org_id, key_id), BatchLine.status.in_(("pending", "running")))
    )
    return int(session.scalar(query) or 0)


def move(
    *,
    session: Session,
    batch_id: str,
    from_status: tuple[str, ...],
    to_status: str,
    now: datetime,
    **fields: Any,
) -> bool:
    """Change a batch's status (stamping `<status>_at`) if it is in one of `from_status`; whether it moved."""
    values = {"status": to_status, f"{to_status}_at": now, **fields}
    statement = update(Batch).where(Batch.id == batch_id, Batch.status.in_(from_status)).values(**values)
    return changed(session.execute(statement)) > 0


def claim(
    *, session: Session, batch_id: str, model: str | None, limit: int, host: str, pid: int, now: datetime
) -> list[BatchLine]:
    """Up to `limit` pending lines of `batch_id` for `model`, in order, now running under this process."""
    candidates = session.scalars(
        select(BatchLine)
        .where(
            BatchLine.batch_id == batch_id,
            BatchLine.status == "pending",
            BatchLine.model.is_(None) if model is None else BatchLine.model == model,
            or_(BatchLine.not_before.is_(None), BatchLine.not_before <= now),
        )
        .order_by(BatchLine.line_no)
        .limit(limit)
    ).all()
    claimed = []
    for line in candidates:
        statement = (
            update(BatchLine)
            .where(
                BatchLine.batch_id == batch_id,
                BatchLine.line_no == line.line_no,
                BatchLine.status == "pending",
            )
            .values(
                status="running",
                holder_host=host,
                holder_pid=pid,
                claimed_at=now,
                attempts=BatchLine.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if changed(session.execute(statement)):
            claimed.append(line)
    return claimed


def models_waiting(*, session: Session, batch_id: str, now: datetime) -> list[str | None]:
    """The models that pending lines of `batch_id` ask for (ready to run now)."""
    query = (
        select(BatchLine.model)
        .where(
            BatchLine.batch_id == batch_id,
            BatchLine.status == "pending",
            or_(BatchLine.not_before.is_(None), BatchLine.not_before <= now),
        )
        .distinct()
    )
    return list(session.scalars(query))


def finish(*, session: Session, batch_id: str, line_no: int, status: str, now: datetime) -> bool:
    """A running line ends (`succeeded` | `failed`); false if it was not running any more."""
    statement = (
        update(BatchLine)
        .where(BatchLine.batch_id == batch_id, BatchLine.line_no == line_no, BatchLine.status == "running")
        .values(status=status, finished_at=now, holder_host=None, holder_pid=None)
    )
    return changed(session.execute(statement)) > 0


def retry_later(
    *, session: Session, batch_id: str, line_no: int, not_before: datetime, refund: bool = False
) -> None:
    """A running line goes back to the queue, to be taken again from `not_before` on; `refund` gives
    back the attempt its claim counted (a refusal that says nothing about the line itself)."""
    values: dict[str, Any] = {
        "status": "pending",
        "not_before": not_before,
        "holder_host": None,
        "holder_pid": None,
    }
    if refund:
        values["attempts"] = BatchLine.attempts - 1
    session.execute(
        update(BatchLine)
        .where(BatchLine.batch_id == batch_id, BatchLine.line_no == line_no, BatchLine.status == "running")
        .values(**values)
    )


def running_lines(*, session: Session) -> list[BatchLine]:
    return list(session.scalars(select(BatchLine).where(BatchLine.status == "running")))


def end_waiting(*, session: Session, batch_id: str, status: str, now: datetime) -> int:
    """Every pending line of `batch_id` ends as `status` (`cancelled`, `expired`); how many did."""
    statement = (
        update(BatchLine)
        .where(BatchLine.batch_id == batch_id, BatchLine.status == "pending")
        .values(status=status, finished_at=now)
    )
    return changed(session.execute(statement))


def lines(*, session: Session, batch_id: str) -> list[tuple[int, str, str]]:
    """(line number, custom_id, status) of every line, in order."""
    query = select(BatchLine.line_no, BatchLine.custom_id, BatchLine.status).where(
        BatchLine.batch_id == batch_id
    )
    return [
        (number, custom_id, status)
        for number, custom_id, status in session.execute(query.order_by(BatchLine.line_no))
    ]


def line(*, session: Session, batch_id: str, line_no: int) -> BatchLine | None:
    return session.get(BatchLine, (batch_id, line_no))
