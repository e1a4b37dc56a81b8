"""The attachment store: attachments (what each file is, sniffed, and which message carries it) and
attachment_contents (its bytes)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("origin_key", sa.String(length=250), nullable=True),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_attachments_customer_id_customers")),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_attachments_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_attachments_message_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("origin", "origin_key", name=op.f("uq_attachments_origin_origin_key")),
    )
    op.create_index("ix_attachments_message", "attachments", ["message_id"], unique=False)
    op.create_index("ix_attachments_customer_unsent", "attachments", ["customer_id", "created_at"], unique=False,
                    postgresql_where=sa.text("message_id IS NULL"), sqlite_where=sa.text("message_id IS NULL"))
    op.create_index("ix_attachments_unsent", "attachments", ["created_at"], unique=False,
                    postgresql_where=sa.text("message_id IS NULL"), sqlite_where=sa.text("message_id IS NULL"))
    op.create_table(
        "attachment_contents",
        sa.Column("attachment_id", _ID, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"],
                                name=op.f("fk_attachment_contents_attachment_id_attachments"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachment_contents")),
    )


def downgrade() -> None:
    op.drop_table("attachment_contents")
    op.drop_index("ix_attachments_unsent", table_name="attachments")
    op.drop_index("ix_attachments_customer_unsent", table_name="attachments")
    op.drop_index("ix_attachments_message", table_name="attachments")
    op.drop_table("attachments")
