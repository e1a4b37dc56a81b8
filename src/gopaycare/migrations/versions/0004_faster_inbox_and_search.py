"""Faster inbox and search at a million tickets (bench/desk.py findings)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUEUE = "assignee_id IS NULL AND status IN ('new', 'open')"
RUNNING = "sla_state IN ('active', 'warning') AND sla_next_due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_unassigned_area")
        batch_op.create_index("ix_tickets_queue_area", ["area", "created_at", "id"], unique=False,
                              postgresql_where=sa.text(QUEUE), sqlite_where=sa.text(QUEUE))
        batch_op.create_index("ix_tickets_sla_running", ["sla_next_due_at", "id"], unique=False,
                              postgresql_where=sa.text(RUNNING), sqlite_where=sa.text(RUNNING))
    if op.get_bind().dialect.name == "postgresql":
        # A stored tsvector: ranking reads it instead of re-parsing every matching ticket's text.
        op.execute("ALTER TABLE ticket_search ADD COLUMN document tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED")
        op.execute("CREATE INDEX ix_ticket_search_document ON ticket_search USING GIN (document)")
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_ticket_search_fts ON ticket_search USING GIN (to_tsvector('simple', tokens))")
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_document")
        op.execute("ALTER TABLE ticket_search DROP COLUMN document")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_sla_running")
        batch_op.drop_index("ix_tickets_queue_area")
        batch_op.create_index("ix_tickets_unassigned_area", ["area", "status", "created_at"], unique=False,
                              postgresql_where=sa.text("assignee_id IS NULL"),
                              sqlite_where=sa.text("assignee_id IS NULL"))
