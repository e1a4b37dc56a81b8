"""One outbox for everything that leaves: replies too (source, thread), backoff, expiry, receipts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('queued', 'sent', 'held', 'failed')"
NEW_STATUSES = "status IN ('queued', 'sent', 'delivered', 'read', 'held', 'failed', 'expired')"


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("channel", existing_type=sa.String(length=8), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("thread", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("source_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("source_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", gopaycare.platform.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("expires_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_messages_status"), type_="check")
        batch_op.create_check_constraint("status", NEW_STATUSES)
        batch_op.create_index("ix_outbox_source", ["source_type", "source_id"], unique=False)
        batch_op.create_index("ix_outbox_provider", ["channel", "provider_message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider")
        batch_op.drop_index("ix_outbox_source")
        batch_op.drop_constraint(op.f("ck_outbox_messages_status"), type_="check")
        batch_op.create_check_constraint("status", OLD_STATUSES)
        batch_op.drop_column("expires_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("source_id")
        batch_op.drop_column("source_type")
        batch_op.drop_column("thread")
        batch_op.alter_column("channel", existing_type=sa.String(length=12), type_=sa.String(length=8),
                              existing_nullable=False)
