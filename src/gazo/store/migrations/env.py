"""Alembic environment: runs on the connection that ``gazo.store.migrations`` hands over."""

from __future__ import annotations

from alembic import context

from gazo.store.migrations import VERSION_TABLE
from gazo.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
