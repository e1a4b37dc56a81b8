"""The order a customer sees their conversation in: messages.seq, conversations.last_seq

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# What the customer already sees gets its number in the order of the ids: their own messages and the
# replies that left the outbox (the same rule desk/sequence.py applies from now on).
NUMBER_EXISTING = """
UPDATE messages SET seq = (
    SELECT numbered.n FROM (
        SELECT id, ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY id) AS n FROM messages
        WHERE internal = false AND (direction = 'in' OR delivery_status IN ('sent', 'delivered', 'read'))
    ) AS numbered WHERE numbered.id = messages.id)
WHERE internal = false AND (direction = 'in' OR delivery_status IN ('sent', 'delivered', 'read'))
"""
COUNT_EXISTING = """
UPDATE conversations SET last_seq = COALESCE(
    (SELECT MAX(seq) FROM messages WHERE messages.conversation_id = conversations.id), 0)
"""


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(NUMBER_EXISTING)
    op.execute(COUNT_EXISTING)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_messages_conversation_seq", ["conversation_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_conversation_seq", type_="unique")
        batch_op.drop_column("seq")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("last_seq")
