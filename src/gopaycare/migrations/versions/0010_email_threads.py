"""Email threads (the customer's latest Message-ID per thread token, for our replies' In-Reply-To)
and the IMAP poller's cursor per mailbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_threads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("last_message_id", sa.String(length=200), nullable=False),
        sa.Column("reference_ids", sa.Text(), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_threads")),
        sa.UniqueConstraint("token", "address", name="uq_email_threads_token_address"),
    )
    op.create_table(
        "email_mailboxes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mailbox", sa.String(length=300), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("polled_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_mailboxes")),
        sa.UniqueConstraint("mailbox", name=op.f("uq_email_mailboxes_mailbox")),
    )


def downgrade() -> None:
    op.drop_table("email_mailboxes")
    op.drop_table("email_threads")
