"""Idempotency keys scoped to their caller (per wallet, per customer's refund requests) instead of
global, and the login pause (a soft lock) beside the lock: docs/adr/0018-abuse-limits.md

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gopaycare.platform.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_wallet_transactions_idempotency_key", type_="unique")
        batch_op.create_unique_constraint("uq_wallet_transactions_account_key", ["account_id", "idempotency_key"])
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint("uq_refund_requests_idempotency_key", type_="unique")
        batch_op.create_unique_constraint("uq_refund_requests_customer_key", ["customer_id", "idempotency_key"])
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login_failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("login_paused_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Going back to global keys fails if two callers have used the same key since: that is the point.
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("login_paused_until")
        batch_op.drop_column("login_failures")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint("uq_refund_requests_customer_key", type_="unique")
        batch_op.create_unique_constraint("uq_refund_requests_idempotency_key", ["idempotency_key"])
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_wallet_transactions_account_key", type_="unique")
        batch_op.create_unique_constraint("uq_wallet_transactions_idempotency_key", ["idempotency_key"])
