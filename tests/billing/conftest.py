"""Fixtures shared with tests/store (see tests/store/databases.py), and real servers for billing.

The servers run `gazo serve --require-auth` on the tiny SD model (see tests/billing/servers.py), one
on the default SQLite and one on a fresh PostgreSQL database, for as long as tests/billing runs;
tests make their own keys on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.billing.servers import write_config
from tests.store.databases import database, pg_url, redis_url, temporary_pg_database  # noqa: F401
from tests.support.server import GazoServer


@pytest.fixture(scope="package")
def billing_config(shared_data_dir: Path) -> Path:
    return write_config(shared_data_dir / "billing.toml", shared_data_dir / "models")


@pytest.fixture(scope="package")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory, billing_config: Path) -> Iterator[GazoServer]:
    data_dir = tmp_path_factory.mktemp("billing-sqlite")
    with GazoServer(data_dir, config=billing_config, args=("--require-auth",)) as server:
        yield server


@pytest.fixture(scope="package")
def pg_server(tmp_path_factory: pytest.TempPathFactory, billing_config: Path) -> Iterator[GazoServer]:
    with temporary_pg_database() as url:
        data_dir = tmp_path_factory.mktemp("billing-pg")
        env = {"GAZO_DATABASE_URL": url}
        with GazoServer(data_dir, config=billing_config, env=env, args=("--require-auth",)) as server:
            yield server
