"""Payment providers' callbacks (once per event), dispute cases with their evidence, and the wallet's
provisional-credit transactions (kinds dispute_credit and dispute_debit)

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gopaycare.platform.db import BigId, UTCDateTime

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

OLD_KINDS = "'topup', 'payment', 'p2p', 'withdrawal', 'refund', 'cashback', 'reversal', 'clawback'"
NEW_KINDS = OLD_KINDS + ", 'dispute_credit', 'dispute_debit'"


def _kinds(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_wallet_transactions_kind"), "wallet_transactions", type_="check")
        op.create_check_constraint(op.f("ck_wallet_transactions_kind"), "wallet_transactions", f"kind IN ({new})")
        return
    # SQLite cannot alter a CHECK; rebuilding the table would trip the journal's foreign keys on a
    # database with money in it. SQLite documents editing the stored schema for exactly this (a CHECK
    # loosened or tightened changes nothing on disk); the schema version is bumped so connections reload it.
    conn = op.get_bind()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema=ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' "
                         "AND name = 'wallet_transactions'", (f"kind IN ({old})", f"kind IN ({new})"))
    conn.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    _kinds(OLD_KINDS, NEW_KINDS)
    op.create_table(
        "payment_callbacks",
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_callbacks")),
        sa.Column("id", BigId, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(64)),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger()),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("transaction_status", sa.String(12)),
        sa.Column("settles_reference", sa.String(64)),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True)),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_payment_callbacks_event")),
        sa.UniqueConstraint("settles_reference", name=op.f("uq_payment_callbacks_settles_reference")),
        sa.CheckConstraint("outcome IN ('succeeded', 'failed', 'none')", name=op.f("ck_payment_callbacks_outcome")),
        sa.CheckConstraint("result IN ('received', 'applied', 'already_final', 'unknown_payment', "
                           "'amount_mismatch', 'not_applicable', 'ignored')", name=op.f("ck_payment_callbacks_result")),
    )
    op.create_index("ix_payment_callbacks_reference", "payment_callbacks", ["reference"])
    op.create_table(
        "disputes",
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.Column("id", BigId, nullable=False),
        sa.Column("customer_id", BigId, sa.ForeignKey("customers.id", name=op.f("fk_disputes_customer_id_customers")),
                  nullable=False),
        sa.Column("transaction_reference", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.BigInteger()),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id", name=op.f("fk_disputes_ticket_id_tickets"))),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("froze_account", sa.Boolean(), nullable=False),
        sa.Column("response_due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("provisional_amount", sa.BigInteger(), nullable=False),
        sa.Column("provisional_reference", sa.String(24)),
        sa.Column("provisional_taken_back", sa.BigInteger(), nullable=False),
        sa.Column("provisional_shortfall", sa.BigInteger(), nullable=False),
        sa.Column("take_back_reference", sa.String(24)),
        sa.Column("refund_reference", sa.String(24)),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("decided_by", sa.BigInteger()),
        sa.Column("decision_reason", sa.String(500)),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True)),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_disputes_idempotency_key")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disputes_amount_positive")),
        sa.CheckConstraint("reason IN ('unrecognised_charge', 'not_delivered', 'not_as_described')",
                           name=op.f("ck_disputes_reason")),
        sa.CheckConstraint("status IN ('needs_response', 'under_review', 'won', 'lost', 'withdrawn')",
                           name=op.f("ck_disputes_status")),
        sa.CheckConstraint("provisional_amount >= 0 AND provisional_taken_back >= 0 AND provisional_shortfall >= 0 "
                           "AND provisional_taken_back + provisional_shortfall <= provisional_amount",
                           name=op.f("ck_disputes_provisional_within_credit")),
    )
    op.create_index("ix_disputes_customer", "disputes", ["customer_id", "id"])
    op.create_index("ix_disputes_reference", "disputes", ["transaction_reference"])
    op.create_index("ix_disputes_status", "disputes", ["status", "id"])
    op.create_table(
        "dispute_evidence",
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
        sa.Column("id", BigId, nullable=False),
        sa.Column("dispute_id", BigId, sa.ForeignKey("disputes.id", name=op.f("fk_dispute_evidence_dispute_id_disputes")),
                  nullable=False),
        sa.Column("party", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_id", BigId,
                  sa.ForeignKey("attachments.id", name=op.f("fk_dispute_evidence_attachment_id_attachments"))),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("party IN ('customer', 'merchant', 'agent')", name=op.f("ck_dispute_evidence_party")),
        sa.CheckConstraint("kind IN ('description', 'communication', 'receipt', 'shipping_proof', 'file', "
                           "'merchant_response', 'note')", name=op.f("ck_dispute_evidence_kind")),
    )
    op.create_index("ix_dispute_evidence_dispute", "dispute_evidence", ["dispute_id", "id"])


def downgrade() -> None:
    op.drop_table("dispute_evidence")
    op.drop_table("disputes")
    op.drop_table("payment_callbacks")
    _kinds(NEW_KINDS, OLD_KINDS)
