"""Channel accounts (channel_accounts, secrets sealed); the account a conversation and an outbox
message belong to; the recipient's language on outbox messages (WhatsApp's follow-up template)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("provider", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("secrets_key_id", sa.String(length=16), nullable=False),
        sa.Column("secrets_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("provider IN ('whatsapp', 'telegram', 'wechat', 'messenger')",
                           name=op.f("ck_channel_accounts_provider")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_channel_accounts_name")),
        sa.UniqueConstraint("provider", "external_id", name=op.f("uq_channel_accounts_provider_external_id")),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("channel_account_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("account_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("language")
        batch.drop_column("account_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("channel_account_id")
    op.drop_table("channel_accounts")
