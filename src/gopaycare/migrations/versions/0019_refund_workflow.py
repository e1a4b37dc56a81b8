"""Refunds end to end: reasons, evidence, merchant and review deadlines, maker-checker, the customer's
timeline, cashback clawbacks, merchants' API keys; the wallet learns the clawback

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_STATUSES = "'submitted', 'under_review', 'approved', 'rejected', 'refunded'"
_STATUSES = ("'submitted', 'under_review', 'awaiting_merchant', 'approved', 'processing', 'refunded', 'rejected', "
             "'cancelled'")
_REASONS = "'duplicate_charge', 'order_cancelled', 'goods_not_received', 'wrong_amount', 'other'"
_OLD_KINDS = "'topup', 'payment', 'p2p', 'withdrawal', 'refund', 'cashback', 'reversal'"
_OPEN = "status IN ('awaiting_merchant', 'approved', 'processing')"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wallet_transactions_kind"), type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({kinds})")


def upgrade() -> None:
    _kinds(f"{_OLD_KINDS}, 'clawback'")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refund_requests_status"), type_="check")
        batch_op.alter_column("status", existing_type=sa.String(length=14), type_=sa.String(length=18),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("reason_code", sa.String(length=24), server_default="other", nullable=False))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("channel", sa.String(length=12), server_default="api", nullable=False))
        batch_op.add_column(sa.Column("merchant_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("merchant_due_at", gopaycare.platform.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("review_due_at", gopaycare.platform.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("proposed_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("proposed_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("rejection_code", sa.String(length=32), nullable=True))
        batch_op.create_check_constraint("status", f"status IN ({_STATUSES})")
        batch_op.create_check_constraint("reason_code", f"reason_code IN ({_REASONS})")
        batch_op.create_index("ix_refund_requests_merchant", ["merchant_id", "id"], unique=False)
        batch_op.create_index("ix_refund_requests_open", ["status", "merchant_due_at"], unique=False,
                              postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
    # The evidence column's default is for the rows already there; new rows always name theirs.
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.alter_column("evidence", existing_type=sa.JSON(), server_default=None, existing_nullable=False)

    op.create_table(
        "refund_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=18), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["refund_requests.id"],
                                name=op.f("fk_refund_events_request_id_refund_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_events")),
    )
    op.create_index("ix_refund_events_request", "refund_events", ["request_id", "id"], unique=False)

    op.create_table(
        "refund_clawbacks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("payment_reference", sa.String(length=40), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.Column("taken", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("wallet_reference", sa.String(length=40), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("due > 0 AND taken >= 0 AND shortfall >= 0 AND taken + shortfall = due",
                           name=op.f("ck_refund_clawbacks_adds_up")),
        sa.ForeignKeyConstraint(["request_id"], ["refund_requests.id"],
                                name=op.f("fk_refund_clawbacks_request_id_refund_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_clawbacks")),
        sa.UniqueConstraint("request_id", name=op.f("uq_refund_clawbacks_request_id")),
    )
    op.create_index("ix_refund_clawbacks_payment", "refund_clawbacks", ["payment_reference"], unique=False)

    op.create_table(
        "merchant_api_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_merchant_api_keys_merchant_id_merchants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_merchant_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_merchant_api_keys_merchant_id"), "merchant_api_keys", ["merchant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_merchant_api_keys_merchant_id"), table_name="merchant_api_keys")
    op.drop_table("merchant_api_keys")
    op.drop_index("ix_refund_clawbacks_payment", table_name="refund_clawbacks")
    op.drop_table("refund_clawbacks")
    op.drop_index("ix_refund_events_request", table_name="refund_events")
    op.drop_table("refund_events")
    # Requests in the new states cannot be kept under the old constraint: they count as under review,
    # the cancelled ones as rejected.
    op.execute("UPDATE refund_requests SET status = 'under_review' "
               "WHERE status IN ('awaiting_merchant', 'processing')")
    op.execute("UPDATE refund_requests SET status = 'rejected' WHERE status = 'cancelled'")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_requests_open", postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
        batch_op.drop_index("ix_refund_requests_merchant")
        batch_op.drop_constraint(op.f("ck_refund_requests_reason_code"), type_="check")
        batch_op.drop_constraint(op.f("ck_refund_requests_status"), type_="check")
        for column in ("rejection_code", "decided_by", "proposed_version", "proposed_by", "version", "review_due_at",
                       "merchant_due_at", "merchant_id", "channel", "evidence", "reason_code"):
            batch_op.drop_column(column)
        batch_op.alter_column("status", existing_type=sa.String(length=18), type_=sa.String(length=14),
                              existing_nullable=False)
        batch_op.create_check_constraint("status", f"status IN ({_OLD_STATUSES})")
    # Clawbacks leave the ledger's history only with the ledger: the kind stays while any is recorded.
    if not op.get_bind().execute(sa.text("SELECT 1 FROM wallet_transactions WHERE kind = 'clawback' LIMIT 1")).first():
        _kinds(_OLD_KINDS)
