"""The outbox by channel, destination and status: a read watermark (Messenger) marks what was sent to
one person, found without scanning every sent message

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_destination", "outbox_messages", ["channel", "destination", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_destination", table_name="outbox_messages")
