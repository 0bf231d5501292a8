"""Alembic migrations, run from code: ``upgrade(url_or_engine)`` on every start and by `gazo db upgrade`.

There is no ``alembic.ini``: the configuration is built here, so an installed gazo migrates its
database with nothing but a URL. A new revision file:
``python -c "from gazo.store.migrations import new_revision; new_revision('add x')"``, then write its
``upgrade``/``downgrade`` by hand. Revisions must work on SQLite and PostgreSQL (``env.py`` turns on
batch mode for SQLite's ALTERs). On PostgreSQL an advisory lock serialises replicas that start at
the same time.

Alembic narrates every run at INFO ("Context impl SQLiteImpl.", one line per revision); the CLI keeps
its logger at WARNING unless `--log-level debug`, and :func:`upgrade` says in one line of its own when
an existing database's schema changed, the one event an operator needs to hear about (a new database
is created at DEBUG).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "gazo_alembic_version"
_HERE = Path(__file__).resolve().parent
_ADVISORY_LOCK_ID = 0x6761_7A6F  # "gazo"

logger = logging.getLogger(__name__)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("path_separator", "os")  # a data dir with spaces must not split
    return config


def _engine(target: str | Engine) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    from gazo.store.database import Database

    return Database(target).engine, True


def _run(target: str | Engine, action: str, revision: str) -> None:
    engine, owned = _engine(target)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            before = _current(connection)
            config = _config()
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
            after = _current(connection)
        if after != before:
            where = engine.url.render_as_string(hide_password=True)
            if before is None:
                logger.debug("created the gazo schema in %s at revision %s", where, after)
            else:
                logger.info("migrated %s from revision %s to %s", where, before, after or "base")
    finally:
        if owned:
            engine.dispose()


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (a URL or an engine) up to ``revision``."""
    _run(target, "upgrade", revision)


def downgrade(target: str | Engine, revision: str) -> None:
    """Migrate down to ``revision`` (``base`` drops every gazo table)."""
    _run(target, "downgrade", revision)


def current(target: str | Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine, owned = _engine(target)
    try:
        with engine.connect() as connection:
            return _current(connection)
    finally:
        if owned:
            engine.dispose()


def new_revision(message: str) -> None:
    """Write an empty revision file into ``versions/`` (development only)."""
    command.revision(_config(), message)
