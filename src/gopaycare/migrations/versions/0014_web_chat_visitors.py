"""Live chat: the web widget's channel ("web"), anonymous visitors' contact identities ("visitor"),
and the e-mail address a chat's unread replies are followed up at

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_CHANNELS = "'chat', 'phone', 'email', 'whatsapp', 'telegram', 'wechat', 'messenger', 'instagram', 'api'"
_KINDS = "'phone', 'email', 'whatsapp', 'telegram', 'wechat', 'messenger', 'instagram', 'chat'"
_FOLLOW_UP = "follow_up_email IS NOT NULL"


def _constraints(channels: str, kinds: str) -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_conversations_channel"), type_="check")
        batch_op.create_check_constraint("channel", f"channel IN ({channels})")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contact_identities_kind"), type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({kinds})")


def upgrade() -> None:
    _constraints(f"'web', {_CHANNELS}", f"{_KINDS}, 'visitor'")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_email", sa.String(length=254), nullable=True))
        batch_op.create_index("ix_conversations_follow_up", ["last_message_at"], unique=False,
                              postgresql_where=sa.text(_FOLLOW_UP), sqlite_where=sa.text(_FOLLOW_UP))


def downgrade() -> None:
    op.execute("DELETE FROM contact_identities WHERE kind = 'visitor'")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_follow_up", postgresql_where=sa.text(_FOLLOW_UP),
                            sqlite_where=sa.text(_FOLLOW_UP))
        batch_op.drop_column("follow_up_email")
    # Web conversations cannot be kept under a constraint that does not know them: they become chats.
    op.execute("UPDATE conversations SET channel = 'chat' WHERE channel = 'web'")
    _constraints(_CHANNELS, _KINDS)
