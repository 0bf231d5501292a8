"""The durable queue of `/v1/batches` on both databases: a line runs in one process at a time, goes back
when its process dies, and a refusal about the key's limits does not use up its attempts."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from gazo.billing.values import Caller
from gazo.errors import InvalidRequest
from gazo.service.batches import BatchQueue, LineSpec
from gazo.store.database import Database
from gazo.store.tables import BatchLine

OPERATOR = Caller(key_id=None, org_id=None, is_admin=True, open_mode=True)


def _queued(database: Database, count: int) -> tuple[BatchQueue, str]:
    queue = BatchQueue(database, stale_after=timedelta(minutes=10), max_waiting_lines=5)
    body = {"prompt": "x"}
    lines = [LineSpec(line_no=i, custom_id=f"c{i}", body=body, model="m") for i in range(1, count + 1)]
    view = queue.create(
        OPERATOR,
        endpoint="/v1/images/generations",
        input_file_id="file-x",
        completion_window="24h",
        metadata=None,
        lines=lines,
        errors=[],
    )
    return queue, view.batch.id


def test_a_line_is_claimed_once_and_refunded_refusals_keep_its_attempts(database: Database) -> None:
    queue, batch_id = _queued(database, 3)
    batch = queue.active()[0]
    first = queue.claim(batch, "m", 2)
    assert [line.line_no for line in first] == [1, 2]
    assert [line.line_no for line in queue.claim(batch, "m", 5)] == [3]  # never twice
    queue.retry_later(first[0], timedelta(0), refund=True)
    queue.retry_later(first[1], timedelta(0))
    again = {line.line_no: line.attempts for line in queue.claim(batch, "m", 5)}
    assert again == {1: 1, 2: 2}  # the refunded try did not count
    assert queue.counts(batch_id).waiting == 3


def test_lines_of_a_dead_process_go_back_to_the_queue(database: Database) -> None:
    queue, batch_id = _queued(database, 2)
    queue.claim(queue.active()[0], "m", 2)
    with database.transaction() as session:  # as if a process that no longer exists had claimed them
        for line in session.query(BatchLine).filter_by(batch_id=batch_id):
            line.holder_pid = 2**22 + os.getpid()  # beyond pid_max: no such process
    assert queue.requeue_orphans() == 2
    assert len(queue.claim(queue.active()[0], "m", 5)) == 2


def test_an_owner_has_only_so_many_lines_waiting(database: Database) -> None:
    _queued(database, 3)
    with pytest.raises(InvalidRequest) as refused:
        _queued(database, 3)  # 3 waiting + 3 > 5
    assert refused.value.code == "too_many_waiting_lines"
    _queued(database, 2)  # 3 + 2 fits
