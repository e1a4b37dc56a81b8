"""The phone line's calls (phone_calls): the voice menu's and a company PBX's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "phone_calls",
        sa.Column("id", _ID, nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("call_id", sa.String(length=250), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("line", sa.String(length=40), nullable=False),
        sa.Column("contact_id", _ID, nullable=True),
        sa.Column("ticket_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("area", sa.String(length=16), nullable=True),
        sa.Column("queue", sa.String(length=80), nullable=True),
        sa.Column("agent_id", _ID, nullable=True),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=True),
        sa.Column("started_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_phone_calls_direction")),
        sa.CheckConstraint("source IN ('twilio', 'cti')", name=op.f("ck_phone_calls_source")),
        sa.CheckConstraint("state IN ('ringing', 'answered', 'ended', 'missed', 'queued', 'callback', 'voicemail', "
                           "'abandoned')", name=op.f("ck_phone_calls_state")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_phone_calls_agent_id_agents")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_phone_calls_contact_id_contacts")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_phone_calls_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_calls")),
        sa.UniqueConstraint("source", "call_id", name=op.f("uq_phone_calls_source_call_id")),
    )
    op.create_index("ix_phone_calls_contact", "phone_calls", ["contact_id", "started_at"], unique=False)
    op.create_index("ix_phone_calls_ticket", "phone_calls", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_phone_calls_ticket", table_name="phone_calls")
    op.drop_index("ix_phone_calls_contact", table_name="phone_calls")
    op.drop_table("phone_calls")
