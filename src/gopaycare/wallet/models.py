"""Ledger tables.

- `ledger_accounts`: wallets (one per customer), merchants' accounts and platform accounts.
  Only wallets carry a cached `balance` and limit counters, because only wallets have rules to
  enforce at write time; merchant and platform balances are sums over transfers (ADR 0002).
- `ledger_transfers`: the journal. Each row moves `amount` from `debit_account_id` to
  `credit_account_id`; rows are never updated or deleted (database triggers refuse it).
- `wallet_transactions`: what a customer sees (a payment, a top-up, a refund) with its status,
  failure reason and idempotency key. One transaction has zero or more transfers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # wallet | merchant | platform
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    tier: Mapped[str | None] = mapped_column(String(8))  # basic | plus (wallets only)
    balance: Mapped[int | None] = mapped_column(BigInteger)  # wallets only
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    frozen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Limit counters, reset lazily: a counter whose period is not the current one counts as 0.
    out_day: Mapped[date | None] = mapped_column(Date)
    out_day_total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    in_month: Mapped[date | None] = mapped_column(Date)
    in_month_total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("kind IN ('wallet', 'merchant', 'platform')", name="kind"),
        CheckConstraint("balance IS NULL OR balance >= 0", name="balance_not_negative"),
        CheckConstraint(
            "(kind = 'wallet') = (balance IS NOT NULL AND tier IS NOT NULL)", name="wallet_fields"
        ),
    )


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)  # food, ride, pulsa, ...
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (CheckConstraint("status IN ('active', 'unavailable')", name="status"),)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    failure_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    counterparty_account_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_accounts.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    method: Mapped[str | None] = mapped_column(String(24))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_transactions.id"))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'reversed')", name="status"
        ),
        CheckConstraint(
            "kind IN ('topup', 'payment', 'p2p', 'withdrawal', 'refund', 'cashback', 'reversal', 'clawback', "
            "'dispute_credit', 'dispute_debit')",
            name="kind",
        ),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_original"
        ),
        Index("ix_wallet_txn_account_created", "account_id", "created_at"),
        Index("ix_wallet_txn_counterparty_created", "counterparty_account_id", "created_at"),
        Index("ix_wallet_txn_original", "original_id"),
        Index("ix_wallet_txn_status_created", "status", "created_at"),
    )


class LedgerTransfer(Base):
    __tablename__ = "ledger_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("wallet_transactions.id"), nullable=False)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        Index("ix_ledger_transfers_debit", "debit_account_id"),
        Index("ix_ledger_transfers_credit", "credit_account_id"),
        Index("ix_ledger_transfers_transaction", "transaction_id"),
    )


__all__ = ["LedgerAccount", "LedgerTransfer", "Merchant", "WalletTransaction"]
