"""Idempotent replay: usage.request_hash, and the sealed responses kept 24 h.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy on SQLite, which would lose the expression index on usage).
    op.add_column("usage", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_table(
        "idempotent_responses",
        sa.Column("usage_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("usage_id", name="pk_idempotent_responses"),
        sa.ForeignKeyConstraint(["usage_id"], ["usage.id"], name="fk_idempotent_responses_usage_id_usage"),
    )
    op.create_index("ix_idempotent_responses_expires_at", "idempotent_responses", ["expires_at"])


def downgrade() -> None:
    op.drop_table("idempotent_responses")
    op.drop_column("usage", "request_hash")  # SQLite >= 3.35 drops a column in place
