"""The dashboard's daily counters (platform/rollup.py, ADR 0026), and the indexes of the console's
"by service area", "by channel" and "unassigned" inbox views

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
    open_ = sa.text("status IN ('new', 'open', 'pending_customer')")
    op.create_index("ix_tickets_open_area_updated", "tickets", ["area", "updated_at", "id"],
                    postgresql_where=open_, sqlite_where=open_)
    op.create_index("ix_tickets_open_channel_updated", "tickets", ["channel", "updated_at", "id"],
                    postgresql_where=open_, sqlite_where=open_)
    unassigned = sa.text("assignee_id IS NULL AND status IN ('new', 'open', 'pending_customer')")
    op.create_index("ix_tickets_unassigned_created", "tickets", ["created_at", "id"],
                    postgresql_where=unassigned, sqlite_where=unassigned)


def downgrade() -> None:
    op.drop_index("ix_tickets_unassigned_created", table_name="tickets")
    op.drop_index("ix_tickets_open_channel_updated", table_name="tickets")
    op.drop_index("ix_tickets_open_area_updated", table_name="tickets")
    op.drop_table("daily_counts")
