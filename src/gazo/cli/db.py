"""`gazo db upgrade`: migrate the configured database (gazo also does this on every start)."""

from __future__ import annotations

from pathlib import Path

import click

from gazo.cli.options import load_settings, settings_options
from gazo.store.database import Database


def open_database(config_file: Path | None, data_dir: Path | None) -> Database:
    """The configured database, migrated to the latest schema."""
    database = Database.from_settings(load_settings(config_file, data_dir))
    database.upgrade()
    return database


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
