"""One SQLAlchemy engine per process and the sessions billing runs its transactions in.

SQLite (the embedded default, ``<data_dir>/gazo.db``) runs in WAL mode so readers never block the
writer, with ``BEGIN IMMEDIATE`` on write transactions: a writer takes the lock when it starts, so
two transactions that read a budget and then update it cannot deadlock on a lock upgrade, and
``busy_timeout`` lets concurrent writers queue instead of failing. ``secure_delete`` zeroes what is
deleted, so purged prompts do not linger in free pages. PostgreSQL gets a bounded pool with
pre-ping (connections survive server restarts) and runs at READ COMMITTED, where the conditional
``UPDATE`` that reserves budget is atomic per row.

A failure of the database itself (disk full, I/O error, corruption, lost connection, no pooled
connection free) inside :meth:`Database.transaction` or :meth:`Database.reading` becomes
:class:`~gazo.errors.DatabaseUnavailable` (503 with ``Retry-After``); a failed write is remembered
and :meth:`Database.problem` (what ``/readyz`` asks) tries a write until one succeeds, so it reports a
full disk too.
A new SQLite file is created 0600 (and its folder 0700) before SQLite opens it, so the ``-wal`` and
``-shm`` files SQLite makes beside it, which copy its mode, are private too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import create_engine, event, exc, inspect, text
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, Result, make_url
from sqlalchemy.orm import Session, sessionmaker

from gazo.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from gazo.settings import Settings

logger = logging.getLogger(__name__)

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_CONNECT_TIMEOUT_S = 10
_READONLY = "gazo_readonly"
_RETRY_AFTER_S = 5


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
        self._read_engine = self.engine.execution_options(**{_READONLY: True})
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        self._failed_write: str | None = None  # why a write failed, until `problem` writes again
        self._last_problem: str | None = None
        self._checking = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """``settings.database_url``, or SQLite in the data dir (created if missing)."""
        if settings.database_url:
            return cls(settings.database_url)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(sqlite_url(settings.data_dir / "gazo.db"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Raises :class:`~gazo.errors.DatabaseUnavailable` when the database itself fails."""
        with self._reported(writing=True), self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite a plain ``BEGIN``, so it never queues behind writers).

        Raises :class:`~gazo.errors.DatabaseUnavailable` when the database itself fails."""
        with self._reported(writing=False), self._read_sessions.begin() as session:
            yield session

    @contextmanager
    def _reported(self, *, writing: bool) -> Iterator[None]:
        """A failing database (not a failing statement) becomes `DatabaseUnavailable`."""
        try:
            yield
        except exc.SQLAlchemyError as error:
            if not _unavailable(error):
                raise
            if writing:  # kept until `problem` gets a write through: a later transaction may write nothing
                self._failed_write = _reason(error)
            raise _report(error) from error

    def migrated(self) -> bool:
        """Whether gazo's migrations ever ran here."""
        from gazo.store.migrations import VERSION_TABLE

        return inspect(self._read_engine).has_table(VERSION_TABLE)

    def ping(self, *, write: bool = False) -> None:
        """Read the schema version; with `write`, also rewrite it unchanged. Raises what the driver raises."""
        from gazo.store.migrations import VERSION_TABLE

        with (self.engine if write else self._read_engine).begin() as connection:
            connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
            if write:
                connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = version_num"))

    def problem(self) -> str | None:
        """Why the database cannot take requests now, or None when it can (what ``/readyz`` asks).

        A read of the schema version; after a failed write also a write, so a full disk shows until
        a write gets through again. While one check runs (a slow database) others get its last answer."""
        if not self._checking.acquire(blocking=False):
            return self._last_problem
        try:
            retry_write = self._failed_write is not None
            self.ping(write=retry_write)
            if retry_write:
                self._failed_write = None
            self._last_problem = None
        except exc.SQLAlchemyError as error:
            self._last_problem = _reason(error)
        finally:
            self._checking.release()
        return self._last_problem

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: the problems it finds, none when intact (PostgreSQL: none)."""
        if self.dialect != "sqlite":
            return []
        with self._read_engine.connect() as connection:
            found = [str(row) for row in connection.exec_driver_sql("PRAGMA quick_check").scalars()]
        return [] if found == ["ok"] else found

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
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": _PG_CONNECT_TIMEOUT_S}
        return create_engine(
            url,
            echo=echo,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args=timeout,
        )
    if url.database and url.database != ":memory:":
        _create_private(Path(url.database))
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


def _create_private(path: Path) -> None:
    """An empty database file only its owner can read, made before SQLite opens it (SQLite would
    make it 0644; its -wal and -shm copy the database's mode). An existing file is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _unavailable(error: exc.SQLAlchemyError) -> bool:
    """The database itself failed (disk, I/O, corruption, connection, pool), not a statement or its data."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection became free
        return True
    failures = exc.OperationalError | exc.InterfaceError | exc.InternalError
    return isinstance(error, failures) or type(error) is exc.DatabaseError


def _reason(error: exc.SQLAlchemyError) -> str:
    """A short cause that is safe to show a client: SQLite's own message (it names no file and no
    data), else the driver error's class name (PostgreSQL's messages can name hosts)."""
    cause = getattr(error, "orig", None) or error
    message = str(cause).strip().splitlines()
    if isinstance(cause, sqlite3.Error) and message:
        return message[0][:120]
    return type(cause).__name__


def _report(error: exc.SQLAlchemyError) -> DatabaseUnavailable:
    cause = getattr(error, "orig", None) or error
    detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]  # never the SQL or its parameters
    logger.warning("the database failed: %s", detail)
    return DatabaseUnavailable(
        f"The database is unavailable ({_reason(error)}). Please retry after {_RETRY_AFTER_S} s.",
        retry_after_s=_RETRY_AFTER_S,
    )


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


def changed(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. `Session.execute` types every result as a `Result`; for
    those statements it is a `CursorResult`, the only kind that carries `rowcount`."""
    return cast("CursorResult[Any]", result).rowcount
