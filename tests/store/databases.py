"""Database fixtures for the store and billing tests: a fresh SQLite file, or the real PostgreSQL.

PostgreSQL runs in a database created for this test session (``gazo_test_<random>``) and dropped
after it; each test starts from empty tables. Point ``GAZO_TEST_POSTGRES_URL`` at another server
(its database is only used to create and drop the test databases); tests that need it are skipped
when it cannot be reached. ``GAZO_TEST_REDIS_URL`` likewise for Redis.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gazo.store.database import Database, sqlite_url
from tests.support.services import missing_service

PG_ADMIN_URL = os.environ.get("GAZO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GAZO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = (
    "batch_lines",
    "batches",
    "files",
    "kept_objects",
    "idempotent_responses",
    "retained_prompts",
    "reservations",
    "usage",
    "budgets",
    "api_keys",
    "organizations",
)


@contextmanager
def temporary_pg_database() -> Iterator[str]:
    """Create an empty database on the test server, yield its URL, drop it afterwards."""
    psycopg = pytest.importorskip("psycopg")
    admin = make_url(PG_ADMIN_URL).set(drivername="postgresql")
    name = f"gazo_test_{uuid.uuid4().hex[:12]}"
    conninfo = admin.render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        missing_service(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database for the whole session."""
    with temporary_pg_database() as url:
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url


def sqlite_database(path: Path) -> Database:
    database = Database(sqlite_url(path))
    database.upgrade()
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        db = sqlite_database(tmp_path / "gazo.db")
    else:
        db = Database(request.getfixturevalue("pg_url"))
        with db.transaction() as session:
            session.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    try:
        yield db
    finally:
        db.dispose()


def reachable_redis() -> str:
    """The test Redis's URL once it answers; skipped (failed under CI) when it does not."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        missing_service(f"Redis not reachable at {REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    """The test Redis, skipped when unreachable."""
    return reachable_redis()
