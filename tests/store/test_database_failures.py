"""A database that fails while gazo runs (a full disk under SQLite, PostgreSQL refusing connections): requests
get OpenAI's 503 with `Retry-After`, `/readyz` says 503, and once it is back everything works and every
usage row is settled. Through the real server and the official SDK."""

from __future__ import annotations

import resource
import stat
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from gazo.store.database import Database, sqlite_url
from gazo.store.migrations import VERSION_TABLE
from gazo.store.tables import Reservation, Usage
from tests.store.databases import PG_ADMIN_URL, temporary_pg_database
from tests.support.server import GazoServer

SMALL = {"prompt": "a red apple", "size": "256x256", "quality": "low"}


def _assert_unavailable(server: GazoServer) -> None:
    """A generation, plain and streamed, gets 503 in OpenAI's shape with Retry-After; so does `/readyz`."""
    for body in (SMALL, {**SMALL, "stream": True}):
        answer = httpx.post(f"{server.base_url}/v1/images/generations", json=body, timeout=60)
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["retry-after"]) > 0
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "server_error"
        assert "database is unavailable" in error["message"] and "retry" in error["message"]
    with server.client() as client, pytest.raises(openai.InternalServerError) as raised:
        client.images.generate(**SMALL)
    assert raised.value.status_code == 503
    ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["database"] != "ok", ready.text


def _assert_serving(server: GazoServer) -> None:
    ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["database"] == "ok", ready.text
    with server.client() as client:
        assert client.images.generate(**SMALL).data[0].b64_json


def _assert_every_row_settled(database: Database, succeeded: int) -> None:
    with database.reading() as session:
        statuses = dict(session.execute(select(Usage.status, func.count()).group_by(Usage.status)).all())
        held = session.execute(select(func.count()).select_from(Reservation)).scalar_one()
    assert statuses == {"succeeded": succeeded} and held == 0, (statuses, held)


def test_a_full_disk_answers_503_and_readyz_says_so_until_space_is_back(tmp_path: Path) -> None:
    with GazoServer(tmp_path / "data") as server:  # the built-in model, SQLite in the data dir
        _assert_serving(server)
        files = {path.name: path for path in server.data_dir.glob("gazo.db*")}
        assert {name: stat.S_IMODE(path.stat().st_mode) for name, path in files.items()} == {
            "gazo.db": 0o600,
            "gazo.db-wal": 0o600,
            "gazo.db-shm": 0o600,
        }
        # Every write goes to the end of the WAL first: capping the process's file size there is a full
        # disk to SQLite (Python ignores SIGXFSZ, so the write fails with EFBIG, which SQLite reports).
        assert server.process is not None
        pid, full = server.process.pid, files["gazo.db-wal"].stat().st_size
        soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (full, hard))
        try:
            _assert_unavailable(server)
            assert files["gazo.db-wal"].stat().st_size == full  # nothing got written
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
        _assert_serving(server)
        database = Database(sqlite_url(files["gazo.db"]))
        try:
            _assert_every_row_settled(database, succeeded=2)
        finally:
            database.dispose()


def test_postgresql_refusing_connections_answers_503_until_it_takes_them_again(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    with temporary_pg_database() as url:
        name = make_url(url).database
        admin = make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        with (
            GazoServer(tmp_path / "data", env={"GAZO_DATABASE_URL": url}) as server,
            psycopg.connect(admin, autocommit=True) as control,
        ):
            _assert_serving(server)
            control.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            control.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
            )
            try:
                _assert_unavailable(server)
            finally:
                control.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            _assert_serving(server)
        database = Database(url)
        try:
            _assert_every_row_settled(database, succeeded=2)
        finally:
            database.dispose()


def test_a_refused_statement_is_not_a_database_failure(database: Database) -> None:
    """A duplicate key is the caller's business (idempotency relies on it), never a 503."""
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.execute(text(f"INSERT INTO {VERSION_TABLE} SELECT version_num FROM {VERSION_TABLE}"))
    assert database.problem() is None
