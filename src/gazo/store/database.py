"""One SQLAlchemy engine per process and the sessions billing runs its transactions in.

SQLite (the embedded default, ``<data_dir>/gazo.db``) runs in WAL mode so readers never block the
writer, with ``BEGIN IMMEDIATE`` on write transactions: a writer takes the lock when it starts, so
two transactions that read a budget and then update it cannot deadlock on a lock upgrade, and
``busy_timeout`` lets concurrent writers queue instead of failing. ``secure_delete`` zeroes what is
deleted, so purged prompts do not linger in free pages. PostgreSQL gets a bounded pool with
pre-ping (connections survive server restarts) and runs at READ COMMITTED, where the conditional
``UPDATE`` that reserves budget is atomic per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from gazo.settings import Settings

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_READONLY = "gazo_readonly"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalize_url(url: str) -> URL:
    """Accept the URLs operators write (``postgres://``, ``postgresql://``) and pick psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    """An engine and its session factory; build one per process with :meth:`from_settings`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = _create_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{_READONLY: True}), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """``settings.database_url``, or SQLite in the data dir (created if missing)."""
        if settings.database_url:
            return cls(settings.database_url)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(sqlite_url(settings.data_dir / "gazo.db"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite a plain ``BEGIN``, so it never queues behind writers)."""
        with self._read_sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic (safe to call on every start)."""
        from gazo.store.migrations import upgrade

        upgrade(self.engine, revision)

    def downgrade(self, revision: str) -> None:
        from gazo.store.migrations import downgrade

        downgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: URL, *, echo: bool) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(
            url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=1800
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        pool_size=8,
        max_overflow=16,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so that "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}",
        "secure_delete=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    readonly = connection.get_execution_options().get(_READONLY, False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
