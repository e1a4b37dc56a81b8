"""The dashboard's daily counters (platform/rollup.py, ADR 0026), the undecided-conversations index,
and search's recent-first index (the ticket id beside the words, btree_gin on PostgreSQL)

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "area", "metric", name=op.f("pk_daily_counts")),
    )
    # Existing rows are counted by `gopaycare recount` (the same functions as the live counting).


def downgrade() -> None:
    op.drop_table("daily_counts")
