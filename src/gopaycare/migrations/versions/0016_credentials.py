"""Credentials: customers' refresh tokens (rotating, by family), single-use WebSocket tickets, agents'
failed-login counter and lock, pending TOTP enrolment and its replay guard, and recovery codes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = gopaycare.platform.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_refresh_tokens",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("customer_id", _BIG_ID, nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", _BIG_ID, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_customer_refresh_tokens_customer_id_customers")),
        sa.ForeignKeyConstraint(["session_id"], ["customer_sessions.id"],
                                name=op.f("fk_customer_refresh_tokens_session_id_customer_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_refresh_tokens_token_hash")),
    )
    op.create_index(op.f("ix_customer_refresh_tokens_customer_id"), "customer_refresh_tokens", ["customer_id"])
    op.create_index(op.f("ix_customer_refresh_tokens_family"), "customer_refresh_tokens", ["family"])

    op.create_table(
        "socket_tickets",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("visitor_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.CheckConstraint("audience IN ('events', 'chat')", name=op.f("ck_socket_tickets_audience")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_socket_tickets")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_socket_tickets_ticket_hash")),
    )
    op.create_index(op.f("ix_socket_tickets_created_at"), "socket_tickets", ["created_at"])

    op.create_table(
        "agent_recovery_codes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("agent_id", _BIG_ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_agent_recovery_codes_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_agent_recovery_codes_code_hash")),
    )
    op.create_index(op.f("ix_agent_recovery_codes_agent_id"), "agent_recovery_codes", ["agent_id"])

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("totp_pending_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_pending_secret")
        batch_op.drop_column("locked_at")
        batch_op.drop_column("failed_logins")
    op.drop_index(op.f("ix_agent_recovery_codes_agent_id"), table_name="agent_recovery_codes")
    op.drop_table("agent_recovery_codes")
    op.drop_index(op.f("ix_socket_tickets_created_at"), table_name="socket_tickets")
    op.drop_table("socket_tickets")
    op.drop_index(op.f("ix_customer_refresh_tokens_family"), table_name="customer_refresh_tokens")
    op.drop_index(op.f("ix_customer_refresh_tokens_customer_id"), table_name="customer_refresh_tokens")
    op.drop_table("customer_refresh_tokens")
