"""foundation: ledger, identity, agents, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:28:37.258543
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("email", name=op.f("uq_agents_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_subject", ["subject_type", "subject_id", "id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("id_last4", sa.String(length=4), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lock_reason", sa.String(length=64), nullable=True),
        sa.Column("frozen_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("freeze_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('zh-CN', 'en', 'id')", name=op.f("ck_customers_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
        sa.UniqueConstraint("phone", name=op.f("uq_customers_phone")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("tier", sa.String(length=8), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("out_day", sa.Date(), nullable=True),
        sa.Column("out_day_total", sa.BigInteger(), nullable=False),
        sa.Column("in_month", sa.Date(), nullable=True),
        sa.Column("in_month_total", sa.BigInteger(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'wallet') = (balance IS NOT NULL AND tier IS NOT NULL)",
            name=op.f("ck_ledger_accounts_wallet_fields"),
        ),
        sa.CheckConstraint("kind IN ('wallet', 'merchant', 'platform')", name=op.f("ck_ledger_accounts_kind")),
        sa.CheckConstraint("balance IS NULL OR balance >= 0", name=op.f("ck_ledger_accounts_balance_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_ledger_accounts_customer_id")),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("destination", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'held', 'failed')", name=op.f("ck_outbox_messages_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_messages_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_outbox_status", ["status", "id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_api_tokens_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "customer_devices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_key", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("os_version", sa.String(length=32), nullable=True),
        sa.Column("app_version", sa.String(length=32), nullable=True),
        sa.Column("first_seen", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_devices_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_devices")),
        sa.UniqueConstraint("customer_id", "device_key", name=op.f("uq_customer_devices_customer_id_device_key")),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'unavailable')", name=op.f("ck_merchants_status")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_merchants_account_id_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("account_id", name=op.f("uq_merchants_account_id")),
    )
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("destination", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_one_time_codes_channel")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_one_time_codes_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
    )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_codes_customer_purpose_created", ["customer_id", "purpose", "created_at"], unique=False
        )

    op.create_table(
        "verification_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("document_ref", sa.String(length=200), nullable=False),
        sa.Column("new_value", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('unlock', 'unfreeze', 'change_phone', 'change_email')",
            name=op.f("ck_verification_requests_purpose"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_verification_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_verification_requests_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_requests")),
    )
    with op.batch_alter_table("verification_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_requests_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "contact_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=8), nullable=False),
        sa.Column("new_value", sa.String(length=254), nullable=False),
        sa.Column("old_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("new_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("field IN ('phone', 'email')", name=op.f("ck_contact_changes_field")),
        sa.CheckConstraint("status IN ('pending', 'done', 'cancelled')", name=op.f("ck_contact_changes_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contact_changes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["new_code_id"], ["one_time_codes.id"], name=op.f("fk_contact_changes_new_code_id_one_time_codes")
        ),
        sa.ForeignKeyConstraint(
            ["old_code_id"], ["one_time_codes.id"], name=op.f("fk_contact_changes_old_code_id_one_time_codes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
    )
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_changes_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_sessions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["customer_devices.id"], name=op.f("fk_customer_sessions_device_id_customer_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_sessions_token_hash")),
    )
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_sessions_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "wallet_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("failure_reason", sa.String(length=32), nullable=True),
        sa.Column("failure_details", sa.JSON(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("counterparty_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("method", sa.String(length=24), nullable=True),
        sa.Column("original_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('topup', 'payment', 'p2p', 'withdrawal', 'refund', 'cashback', 'reversal')",
            name=op.f("ck_wallet_transactions_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'reversed')", name=op.f("ck_wallet_transactions_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_wallet_transactions_amount_positive")),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount",
            name=op.f("ck_wallet_transactions_refund_within_original"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_wallet_transactions_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["counterparty_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_wallet_transactions_counterparty_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_wallet_transactions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["wallet_transactions.id"],
            name=op.f("fk_wallet_transactions_original_id_wallet_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_wallet_transactions_idempotency_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_wallet_transactions_reference")),
    )
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_txn_account_created", ["account_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_wallet_txn_counterparty_created", ["counterparty_account_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_wallet_txn_original", ["original_id"], unique=False)
        batch_op.create_index("ix_wallet_txn_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfers_two_accounts")),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["wallet_transactions.id"],
            name=op.f("fk_ledger_transfers_transaction_id_wallet_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_transfers_credit", ["credit_account_id"], unique=False)
        batch_op.create_index("ix_ledger_transfers_debit", ["debit_account_id"], unique=False)
        batch_op.create_index("ix_ledger_transfers_transaction", ["transaction_id"], unique=False)

    _append_only("ledger_transfers")
    _append_only("audit_log")


APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION gopaycare_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _append_only(table: str) -> None:
    """The ledger journal and the audit log only grow: corrections are new rows."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_PG)
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION gopaycare_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_transaction")
        batch_op.drop_index("ix_ledger_transfers_debit")
        batch_op.drop_index("ix_ledger_transfers_credit")

    op.drop_table("ledger_transfers")
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_txn_status_created")
        batch_op.drop_index("ix_wallet_txn_original")
        batch_op.drop_index("ix_wallet_txn_counterparty_created")
        batch_op.drop_index("ix_wallet_txn_account_created")

    op.drop_table("wallet_transactions")
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_sessions_customer_id"))

    op.drop_table("customer_sessions")
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_changes_customer_id"))

    op.drop_table("contact_changes")
    with op.batch_alter_table("verification_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_requests_customer_id"))

    op.drop_table("verification_requests")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_codes_customer_purpose_created")

    op.drop_table("one_time_codes")
    op.drop_table("merchants")
    op.drop_table("customer_devices")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_agent_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_customer_id"))

    op.drop_table("outbox_messages")
    op.drop_table("ledger_accounts")
    op.drop_table("customers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_subject")

    op.drop_table("audit_log")
    op.drop_table("agents")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gopaycare_append_only()")
