"""No prompt reaches the database unless retention is on, and purged prompts leave no trace."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from gazo.store.database import Database
from gazo.store.tables import utcnow
from tests.billing.meters import ESTIMATE, caller_for, make_key, make_meter, reserve
from tests.billing.scans import files_containing, rows_as_text
from tests.store.databases import sqlite_database


def _run_requests(database: Database, prompt: str, **settings: object) -> None:
    meter = make_meter(database, **settings)
    _, secret = make_key(database)
    caller = caller_for(meter, secret)
    meter.commit(reserve(meter, caller, request_id="r1"), ESTIMATE, latency_ms=1, prompt=prompt)
    meter.release(reserve(meter, caller, request_id="r2"), status="moderation_blocked")


def test_default_retention_writes_no_prompt_anywhere(database: Database, tmp_path: Path) -> None:
    prompt = f"a zebra-unicorn {uuid.uuid4().hex} over Lisbon"
    _run_requests(database, prompt)
    assert prompt not in rows_as_text(database)
    if database.dialect == "sqlite":
        assert (
            files_containing(tmp_path, prompt.encode()) == []
            and files_containing(tmp_path, prompt[:20].encode()) == []
        )


def test_retained_prompts_are_purged_without_a_trace(tmp_path: Path) -> None:
    database = sqlite_database(tmp_path / "gazo.db")
    prompt = f"a zebra-unicorn {uuid.uuid4().hex} over Lisbon"
    _run_requests(database, prompt, retention_days=1)
    assert prompt in rows_as_text(database)
    assert files_containing(tmp_path, prompt.encode())  # the scan below can see it when it is there
    meter = make_meter(database, retention_days=1)
    assert meter.purge_retained() == 0  # still within its day
    assert meter.purge_retained(now=utcnow() + timedelta(days=2)) == 1
    assert prompt not in rows_as_text(database)
    database.dispose()
    with closing(sqlite3.connect(tmp_path / "gazo.db")) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert files_containing(tmp_path, prompt.encode()) == []  # secure_delete zeroed the freed page
