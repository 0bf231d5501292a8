"""`gazo keys`, `gazo usage` and `gazo db upgrade` through click's runner, on a fresh data dir."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from gazo.cli.db import db
from gazo.cli.keys import keys
from gazo.cli.usage import parse_since, usage
from gazo.store.database import Database, sqlite_url
from tests.billing.meters import ESTIMATE, caller_for, make_meter, reserve
from tests.store.test_migrations import HEAD


def test_keys_create_list_revoke_and_usage(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    created = runner.invoke(
        keys,
        ["create", "--name", "ci", "--org", "acme", "--budget-usd", "2.5", "--rpm", "5", "--admin", *data],
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[0]
    assert secret.startswith("gz-")

    listed = runner.invoke(keys, ["list", *data], env={"COLUMNS": "220"})
    assert listed.exit_code == 0 and "ci" in listed.output and "acme" in listed.output
    assert secret[:10] in listed.output and secret not in listed.output and "2.50" in listed.output

    database = Database(sqlite_url(tmp_path / "gazo.db"))
    meter = make_meter(database)
    meter.commit(reserve(meter, caller_for(meter, secret)), ESTIMATE, latency_ms=1)
    database.dispose()
    table = runner.invoke(usage, ["--by", "model", *data], env={"COLUMNS": "220"})
    assert table.exit_code == 0 and "gpt-image-1" in table.output and "0.010930" in table.output
    as_csv = runner.invoke(usage, ["--csv", "--since", "1d", *data])
    assert as_csv.stdout.splitlines()[0] == "key,requests,succeeded,images,input tokens,output tokens,cost $"
    assert as_csv.stdout.splitlines()[1].startswith("ci (key_") and as_csv.stdout.endswith(
        ",1,1,1,10,272,0.010930\n"
    )

    assert runner.invoke(keys, ["budget", "ci", "--usd", "9", *data]).exit_code == 0
    revoked = runner.invoke(keys, ["revoke", "ci", *data])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    missing = runner.invoke(keys, ["revoke", "nobody", *data])
    assert missing.exit_code == 1 and "no key" in missing.output


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    result = CliRunner().invoke(db, ["upgrade", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and f"revision {HEAD}" in result.output


def test_since_accepts_relative_and_iso_times() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_since("7d", now=now) == datetime(2026, 11, 13, 12, tzinfo=UTC)
    assert parse_since("12h", now=now) == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_since("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since(None, now=now) == datetime(2026, 10, 21, 12, tzinfo=UTC)
