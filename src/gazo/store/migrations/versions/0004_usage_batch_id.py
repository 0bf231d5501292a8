"""Batch lines: usage.batch_id, indexed, so a batch's lines can be summed and its cost reported.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy on SQLite, which would lose the expression index on usage);
    # nullable, so existing rows stay as they are: interactive requests, at full price.
    op.add_column("usage", sa.Column("batch_id", sa.String(40), nullable=True))
    op.create_index("ix_usage_batch_id", "usage", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_batch_id", table_name="usage")
    op.drop_column("usage", "batch_id")  # SQLite >= 3.35 drops a column in place
