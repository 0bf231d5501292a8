"""The durable queue of `/v1/batches`: batches and their lines in the database (blocking: call it off
the event loop).

Every move is a conditional update (see `gazo.store.batches`), so a line runs in one process at a
time, and a line whose process died (same host, pid gone; or claimed longer ago than any request may
run) goes back to `pending` when a runner looks again: a server killed with SIGKILL resumes its
batches when it starts. Running a line twice is harmless: each runs under the Idempotency-Key
`batch:<batch id>:<custom_id>`, so a rerun of a line that was charged replays its stored images.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gazo.billing.values import Caller, host_identity, process_alive
from gazo.errors import InvalidRequest, NotFound
from gazo.store import batches as batch_rows
from gazo.store.batches import LineCounts
from gazo.store.database import Database
from gazo.store.tables import Batch, BatchLine, utcnow

ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
COMPLETION_WINDOWS = {"24h": timedelta(hours=24)}


@dataclass(frozen=True)
class LineSpec:
    """One checked line of an input file."""

    line_no: int
    custom_id: str
    body: dict[str, Any]
    model: str | None


@dataclass(frozen=True)
class BatchView:
    """A batch with its counts, as a transport reports it."""

    batch: Batch
    counts: LineCounts


@dataclass(frozen=True)
class ClaimedLine:
    batch_id: str
    line_no: int
    custom_id: str
    body: dict[str, Any]
    attempts: int
    key_id: str | None
    endpoint: str


class BatchQueue:
    def __init__(self, database: Database, *, stale_after: timedelta, max_waiting_lines: int) -> None:
        self.database = database
        self.max_waiting_lines = max_waiting_lines
        self.host = host_identity()
        self.pid = os.getpid()
        self.stale_after = stale_after

    # 1. What clients ask
    def create(
        self,
        caller: Caller,
        *,
        endpoint: str,
        input_file_id: str,
        completion_window: str,
        metadata: dict[str, str] | None,
        lines: list[LineSpec],
        errors: list[dict[str, Any]],
    ) -> BatchView:
        """A new batch: `in_progress` with its lines queued, or `failed` with `errors` (invalid input)."""
        now = utcnow()
        batch = Batch(
            id=f"batch_{uuid.uuid4().hex[:24]}",
            org_id=caller.org_id,
            key_id=caller.key_id,
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=completion_window,
            status="failed" if errors else "in_progress",
            metadata_json=json.dumps(metadata) if metadata else None,
            errors_json=json.dumps({"object": "list", "data": errors}) if errors else None,
            created_at=now,
            expires_at=now + COMPLETION_WINDOWS[completion_window],
            in_progress_at=None if errors else now,
            failed_at=now if errors else None,
        )
        rows = [
            BatchLine(
                batch_id=batch.id,
                line_no=spec.line_no,
                custom_id=spec.custom_id,
                model=spec.model,
                status="pending",
                body=json.dumps(spec.body, separators=(",", ":")),
                attempts=0,
            )
            for spec in ([] if errors else lines)
        ]
        with self.database.transaction() as session:
            waiting = batch_rows.waiting_lines(session=session, org_id=caller.org_id, key_id=caller.key_id)
            if rows and waiting + len(rows) > self.max_waiting_lines:
                raise InvalidRequest(
                    f"{waiting} lines of your batches are still waiting; with these {len(rows)} they would "
                    f"pass the {self.max_waiting_lines} allowed. Submit it once earlier batches progress.",
                    param="input_file_id",
                    code="too_many_waiting_lines",
                )
            batch_rows.add(session=session, batch=batch, lines=rows)
            counts = batch_rows.counts(session=session, batch_ids=[batch.id])[batch.id]
        return BatchView(batch, counts)

    def view(self, caller: Caller, batch_id: str) -> BatchView:
        with self.database.reading() as session:
            batch = batch_rows.find(
                session=session, batch_id=batch_id, org_id=caller.org_id, key_id=caller.key_id
            )
            if batch is None:
                raise NotFound(f"No batch found with id '{batch_id[:60]}'.", param="batch_id")
            counts = batch_rows.counts(session=session, batch_ids=[batch.id])[batch.id]
        return BatchView(batch, counts)

    def page(self, caller: Caller, *, limit: int, after: str | None) -> tuple[list[BatchView], bool]:
        with self.database.reading() as session:
            cursor = None
            if after is not None:
                cursor = batch_rows.find(
                    session=session, batch_id=after, org_id=caller.org_id, key_id=caller.key_id
                )
                if cursor is None:
                    raise InvalidRequest(f"`after` names no batch of yours: {after[:60]}", param="after")
            found = batch_rows.page(
                session=session, org_id=caller.org_id, key_id=caller.key_id, limit=limit + 1, after=cursor
            )
            counts = batch_rows.counts(session=session, batch_ids=[batch.id for batch in found])
        views = [BatchView(batch, counts[batch.id]) for batch in found]
        return views[:limit], len(views) > limit

    def cancel(self, caller: Caller, batch_id: str) -> BatchView:
        """`cancelling`: no further line starts; the runner ends it as `cancelled` once none runs."""
        view = self.view(caller, batch_id)
        if view.batch.status in ("in_progress", "validating"):
            with self.database.transaction() as session:
                batch_rows.move(
                    session=session,
                    batch_id=batch_id,
                    from_status=("in_progress", "validating"),
                    to_status="cancelling",
                    now=utcnow(),
                )
                batch_rows.end_waiting(session=session, batch_id=batch_id, status="cancelled", now=utcnow())
        elif view.batch.status not in ("cancelling", "cancelled"):
            raise InvalidRequest(
                f"Batch {batch_id} is {view.batch.status} and can no longer be cancelled.", param="batch_id"
            )
        return self.view(caller, batch_id)

    # 2. What the runner does
    def active(self) -> list[Batch]:
        with self.database.reading() as session:
            return batch_rows.active(session=session)

    def counts(self, batch_id: str) -> LineCounts:
        with self.database.reading() as session:
            return batch_rows.counts(session=session, batch_ids=[batch_id])[batch_id]

    def models_waiting(self, batch_id: str) -> list[str | None]:
        with self.database.reading() as session:
            return batch_rows.models_waiting(session=session, batch_id=batch_id, now=utcnow())

    def claim(self, batch: Batch, model: str | None, limit: int) -> list[ClaimedLine]:
        with self.database.transaction() as session:
            rows = batch_rows.claim(
                session=session,
                batch_id=batch.id,
                model=model,
                limit=limit,
                host=self.host,
                pid=self.pid,
                now=utcnow(),
            )
            return [
                ClaimedLine(
                    batch_id=batch.id,
                    line_no=row.line_no,
                    custom_id=row.custom_id,
                    body=json.loads(row.body),
                    attempts=row.attempts + 1,
                    key_id=batch.key_id,
                    endpoint=batch.endpoint,
                )
                for row in rows
            ]

    def finish(self, line: ClaimedLine, status: str) -> bool:
        with self.database.transaction() as session:
            return batch_rows.finish(
                session=session, batch_id=line.batch_id, line_no=line.line_no, status=status, now=utcnow()
            )

    def retry_later(self, line: ClaimedLine, delay: timedelta, *, refund: bool = False) -> None:
        with self.database.transaction() as session:
            batch_rows.retry_later(
                session=session,
                batch_id=line.batch_id,
                line_no=line.line_no,
                not_before=utcnow() + delay,
                refund=refund,
            )

    def requeue_orphans(self) -> int:
        """Lines whose process died go back to `pending`; how many did."""
        now = utcnow()
        with self.database.reading() as session:
            running = batch_rows.running_lines(session=session)
        orphans = [line for line in running if self._orphaned(line, now)]
        with self.database.transaction() as session:
            for line in orphans:
                batch_rows.retry_later(
                    session=session, batch_id=line.batch_id, line_no=line.line_no, not_before=now
                )
        return len(orphans)

    def _orphaned(self, line: BatchLine, now: datetime) -> bool:
        if line.holder_host == self.host and line.holder_pid is not None:
            return line.holder_pid != self.pid and not process_alive(line.holder_pid)
        claimed = line.claimed_at or now
        return now - claimed > self.stale_after  # another host's: only once no request could still run

    def move(self, batch_id: str, from_status: tuple[str, ...], to_status: str, **fields: Any) -> bool:
        with self.database.transaction() as session:
            return batch_rows.move(
                session=session,
                batch_id=batch_id,
                from_status=from_status,
                to_status=to_status,
                now=utcnow(),
                **fields,
            )

    def end_waiting(self, batch_id: str, status: str) -> int:
        with self.database.transaction() as session:
            return batch_rows.end_waiting(session=session, batch_id=batch_id, status=status, now=utcnow())

    def lines(self, batch_id: str) -> list[tuple[int, str, str]]:
        with self.database.reading() as session:
            return batch_rows.lines(session=session, batch_id=batch_id)
