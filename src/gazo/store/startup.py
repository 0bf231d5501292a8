"""Before `gazo serve` listens: a data dir that takes writes, and a database that opens, is intact, is
migrated and takes a write, or one line that says what to do.

:func:`prepare_storage` raises :class:`~gazo.errors.StartupError`, which the CLI prints as one
``gazo: ...`` line; the lifespan that builds the service later opens the same database again (as it
does on Ray and in tests, where nothing runs this first). ``PRAGMA quick_check`` reads every page of
a SQLite database: for 100,000 usage rows (34 MB) 0.1 s from the page cache, 0.6 s from disk; ten
times that for a million.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.util import CommandError
from sqlalchemy import exc

from gazo.errors import StartupError
from gazo.store.database import Database, normalize_url

if TYPE_CHECKING:
    from gazo.settings import Settings

__all__ = ["prepare_storage"]

logger = logging.getLogger(__name__)

_ELSEWHERE = "point --data-dir (or GAZO_DATA_DIR) elsewhere"
_CORRUPTED = (
    "{where} is corrupted ({detail}): restore it from a backup (or salvage what is left with "
    "`sqlite3 {where} .recover | sqlite3 recovered.db`), then start gazo again"
)
# What SQLite says (lower case) -> what to do.
_SQLITE_ADVICE = (
    (
        ("not a database",),
        "{where} is not a SQLite database ({detail}): move it aside (gazo then makes a new one)",
    ),
    (("malformed", "corrupt"), _CORRUPTED),
    (
        ("full", "i/o"),
        "cannot write {where} ({detail}): free disk space (or check the disk), then start again",
    ),
    (
        ("readonly", "read-only", "unable to open"),
        "cannot write {where} ({detail}): make it and its folder writable for this user, or " + _ELSEWHERE,
    ),
)


def prepare_storage(settings: Settings) -> None:
    """The data dir (made 0700 when missing) takes writes; the database (SQLite in it, or
    `database_url`) opens, passes ``PRAGMA quick_check``, takes a write and is migrated."""
    # 1. The data dir
    _check_data_dir(settings.data_dir)
    # 2. The database
    sqlite_path = None if settings.database_url else settings.data_dir / "gazo.db"
    where = _describe(settings.database_url) if settings.database_url else str(sqlite_path)
    database = None
    try:
        database = Database.from_settings(settings)
        _check_intact(database, where)
        if database.migrated():
            database.ping(write=True)  # before the migration, whose log lines would come first
        database.upgrade()  # on a new database, the first write
    except (OSError, ValueError, ImportError, exc.SQLAlchemyError, CommandError) as error:
        raise StartupError(_explain(error, where, url=sqlite_path is None)) from error
    finally:
        if database is not None:
            database.dispose()
    mode = sqlite_path.stat().st_mode & 0o777 if sqlite_path else 0
    if mode & 0o077:
        logger.warning("%s can be read by other users (mode %o): `chmod 600` it", sqlite_path, mode)


def _describe(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return normalize_url(url).render_as_string(hide_password=True)
    except (ValueError, exc.ArgumentError) as error:
        raise StartupError(
            f"GAZO_DATABASE_URL is not a database URL ({error}): write it as "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from error


def _check_data_dir(data_dir: Path) -> None:
    try:
        if data_dir.exists() and not data_dir.is_dir():
            raise StartupError(f"the data dir {data_dir} is not a directory: {_ELSEWHERE}")
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as error:
        raise StartupError(
            f"cannot write to the data dir {data_dir} ({error.strerror or error}): "
            f"make it writable for this user, or {_ELSEWHERE}"
        ) from error


def _check_intact(database: Database, where: str) -> None:
    started = time.monotonic()
    problems = database.quick_check()
    if problems:
        raise StartupError(_CORRUPTED.format(where=where, detail=problems[0]))
    took_s = time.monotonic() - started
    if took_s > 1:
        logger.info("checked %s in %.1f s (PRAGMA quick_check)", where, took_s)


def _explain(error: BaseException, where: str, *, url: bool) -> str:
    cause = getattr(error, "orig", None) or error
    detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if isinstance(cause, sqlite3.Error):
        for words, advice in _SQLITE_ADVICE:
            if any(word in detail.lower() for word in words):
                return advice.format(where=where, detail=detail)
    if isinstance(error, OSError):
        return f"cannot create {where} ({error.strerror or error}): make its folder writable, or {_ELSEWHERE}"
    if isinstance(error, CommandError):
        return f"cannot migrate {where} ({detail}): made by a newer gazo? Run that one, or restore a backup"
    if url:  # GAZO_DATABASE_URL (PostgreSQL)
        return f"cannot use the database at {where} ({detail}): is it running? Else fix GAZO_DATABASE_URL"
    return f"cannot open {where} ({detail}): restore a backup, or {_ELSEWHERE}"
