"""What the channels hear, kept before it is answered (channel_events)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("received_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'done', 'failed')", name=op.f("ck_channel_events_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_events")),
        sa.UniqueConstraint("channel", "event_key", name="uq_channel_events_key"),
    )
    op.create_index("ix_channel_events_status", "channel_events", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_channel_events_status", table_name="channel_events")
    op.drop_table("channel_events")
