"""assistant, knowledge base, refund requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:11:06.660477
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db  # noqa: F401  (UTCDateTime in column types)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f("ck_kb_articles_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
    )
    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('zh-CN', 'en', 'id')", name=op.f("ck_kb_article_versions_language")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=op.f("fk_kb_article_versions_article_id_kb_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint(
            "article_id", "language", "version", name=op.f("uq_kb_article_versions_article_id_language_version")
        ),
    )
    op.create_table(
        "kb_index",
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name=op.f("fk_kb_index_article_id_kb_articles")),
        sa.PrimaryKeyConstraint("article_id", "language", name=op.f("pk_kb_index")),
    )
    with op.batch_alter_table("kb_index", schema=None) as batch_op:
        batch_op.create_index("ix_kb_index_language", ["language"], unique=False)

    op.create_table(
        "kb_votes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("voter", sa.String(length=80), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name=op.f("fk_kb_votes_article_id_kb_articles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_votes")),
        sa.UniqueConstraint("article_id", "language", "voter", name=op.f("uq_kb_votes_article_id_language_voter")),
    )
    op.create_table(
        "refund_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_reference", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=14), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("refund_reference", sa.String(length=40), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'under_review', 'approved', 'rejected', 'refunded')",
            name=op.f("ck_refund_requests_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refund_requests_amount_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_refund_requests_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_refund_requests_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refund_requests_idempotency_key")),
    )
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.create_index("ix_refund_requests_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index("ix_refund_requests_txn", ["transaction_reference"], unique=False)

    op.create_table(
        "assistant_sessions",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_assistant_sessions_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_assistant_sessions")),
    )


def downgrade() -> None:
    op.drop_table("assistant_sessions")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_requests_txn")
        batch_op.drop_index("ix_refund_requests_customer")

    op.drop_table("refund_requests")
    op.drop_table("kb_votes")
    with op.batch_alter_table("kb_index", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_index_language")

    op.drop_table("kb_index")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")
