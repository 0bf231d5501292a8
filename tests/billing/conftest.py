"""Fixtures shared with tests/billing: see tests/store/databases.py."""

from tests.store.databases import database, pg_url, redis_url  # noqa: F401
