"""`gazo db upgrade`: migrate the configured database (gazo also does this on every start)."""

from __future__ import annotations

from pathlib import Path

import click

from gazo.cli.options import load_settings, settings_options
from gazo.errors import StartupError
from gazo.settings import Settings
from gazo.store.database import Database
from gazo.store.startup import prepare_storage


def prepare_storage_or_exit(settings: Settings) -> None:
    """The data dir and database checks `gazo serve` runs first; a broken one is one `gazo: ...`
    line saying what to do, and exit code 2, never a traceback."""
    try:
        prepare_storage(settings)
    except StartupError as error:
        click.echo(f"gazo: {error}", err=True)
        raise SystemExit(2) from None


def open_database(config_file: Path | None, data_dir: Path | None) -> Database:
    """The configured database, checked and migrated to the latest schema (`gazo keys`, `usage`, `db`)."""
    settings = load_settings(config_file, data_dir)
    prepare_storage_or_exit(settings)
    return Database.from_settings(settings)


@click.group()
def db() -> None:
    """The database that holds keys, budgets and usage."""


@db.command()
@settings_options
def upgrade(data_dir: Path | None, config_file: Path | None) -> None:
    """Apply pending migrations (SQLite in the data dir, or GAZO_DATABASE_URL)."""
    from gazo.store.migrations import current

    database = open_database(config_file, data_dir)
    try:
        click.echo(
            f"{database.url.render_as_string(hide_password=True)} is at revision {current(database.engine)}"
        )
    finally:
        database.dispose()
