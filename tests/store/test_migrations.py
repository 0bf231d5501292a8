"""Migrations go up and down on SQLite and PostgreSQL, and the models match what they build."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from gazo.settings import Settings
from gazo.store import migrations
from gazo.store.database import Database, sqlite_url
from gazo.store.tables import metadata
from tests.store.databases import TABLES, temporary_pg_database

HEAD = "0005"  # the newest revision in src/gazo/store/migrations/versions


def _check_up_down(url: str) -> None:
    database = Database(url)
    try:
        assert migrations.current(database.engine) is None
        database.upgrade()
        database.upgrade()  # idempotent: every start runs it
        assert migrations.current(database.engine) == HEAD
        assert set(TABLES) <= set(inspect(database.engine).get_table_names())
        with database.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": migrations.VERSION_TABLE, "compare_type": True}
            )
            with warnings.catch_warnings():
                # SQLite cannot reflect the expression index, so it is skipped there (with a warning).
                warnings.simplefilter("ignore")
                assert compare_metadata(context, metadata) == []
        database.downgrade("base")
        assert migrations.current(database.engine) is None
        assert not set(TABLES) & set(inspect(database.engine).get_table_names())
        database.upgrade()
        assert migrations.current(database.engine) == HEAD
    finally:
        database.dispose()


def test_migrations_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _check_up_down(sqlite_url(tmp_path / "gazo.db"))


def test_migrations_up_and_down_on_postgresql() -> None:
    with temporary_pg_database() as url:
        _check_up_down(url)


def test_upgrade_takes_a_url_and_the_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    database = Database.from_settings(Settings.load(data_dir=tmp_path))
    assert database.url.database == str(tmp_path.resolve() / "gazo.db")
    database.dispose()
    migrations.upgrade(sqlite_url(tmp_path / "gazo.db"))
    assert migrations.current(sqlite_url(tmp_path / "gazo.db")) == HEAD


def test_sqlite_runs_in_wal_mode_with_secure_delete(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "gazo.db"))
    with database.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "secure_delete", "busy_timeout")
        }
    database.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "secure_delete": 1, "busy_timeout": 30000}


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GAZO_DATABASE_URL", "postgresql://gazo@db.example/gazo")
    monkeypatch.setenv("GAZO_REDIS_URL", "redis://cache.example:6379/1")
    settings = Settings.load(data_dir=tmp_path)
    assert (settings.database_url, settings.redis_url) == (
        "postgresql://gazo@db.example/gazo",
        "redis://cache.example:6379/1",
    )
    database = Database.from_settings(settings)  # no connection is made until first use
    assert database.url.drivername == "postgresql+psycopg"
    database.dispose()


def test_an_upgraded_schema_is_one_line_a_new_one_is_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Alembic's own narration is for `--log-level debug` (see gazo.cli.logs); what an operator must
    hear, that an existing database's schema changed, gazo says itself, once."""
    url = sqlite_url(tmp_path / "gazo.db")
    with caplog.at_level("DEBUG", logger="gazo.store.migrations"):
        migrations.upgrade(url, "0001")
        migrations.upgrade(url)
        migrations.upgrade(url)  # nothing to do: nothing said
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "gazo.store.migrations"]
    assert said == [
        ("DEBUG", f"created the gazo schema in {url} at revision 0001"),
        ("INFO", f"migrated {url} from revision 0001 to {HEAD}"),
    ]


_USAGE_AT_0003 = text(
    "INSERT INTO usage (id, model, operation, size, quality, n, text_input_tokens, image_input_tokens, "
    "image_output_tokens, reserved_micros, cost_micros, status, request_id, idempotency_key, created_at) "
    "VALUES (:id, 'gpt-image-1', 'generation', '1024x1024', 'low', 1, 10, 0, 272, 10930, 10930, "
    "'succeeded', 'req', 'idem', '2026-11-01 00:00:00')"
)


def _check_batch_id_is_added_to_existing_rows(url: str) -> None:
    """0004 adds usage.batch_id to a database in use: its rows stay, as interactive (null) requests,
    and the expression index that makes Idempotency-Keys unique survives (SQLite would lose it to a
    batch-mode table copy)."""
    database = Database(url)
    try:
        migrations.upgrade(database.engine, "0003")
        with database.engine.begin() as connection:
            connection.execute(_USAGE_AT_0003, {"id": "usage_before"})
        migrations.upgrade(database.engine, "0004")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLite cannot reflect the expression index (see above)
            indexes = {index["name"] for index in inspect(database.engine).get_indexes("usage")}
        assert "ix_usage_batch_id" in indexes
        with database.engine.begin() as connection:
            rows = connection.execute(text("SELECT id, cost_micros, batch_id FROM usage")).all()
            assert [tuple(row) for row in rows] == [("usage_before", 10930, None)]
            # A second live row with the same Idempotency-Key is still refused.
            with pytest.raises(IntegrityError, match="uq_usage_idempotency"), connection.begin_nested():
                connection.execute(_USAGE_AT_0003, {"id": "usage_after"})
        migrations.downgrade(database.engine, "0003")
        assert "batch_id" not in {column["name"] for column in inspect(database.engine).get_columns("usage")}
    finally:
        database.dispose()


def test_batch_id_migration_keeps_rows_on_sqlite(tmp_path: Path) -> None:
    _check_batch_id_is_added_to_existing_rows(sqlite_url(tmp_path / "gazo.db"))


def test_batch_id_migration_keeps_rows_on_postgresql() -> None:
    with temporary_pg_database() as url:
        _check_batch_id_is_added_to_existing_rows(url)
