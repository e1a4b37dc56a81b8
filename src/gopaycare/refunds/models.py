"""Refund tables: the request and its state, the timeline the customer reads, the cashback clawed back,
and the merchants' API keys (the merchant answers a request before GoPay reviews it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime

STATUSES = ("submitted", "under_review", "awaiting_merchant", "approved", "processing", "refunded", "rejected",
            "cancelled")
OPEN_STATUSES = ("submitted", "under_review", "awaiting_merchant", "approved", "processing")
REASONS = ("duplicate_charge", "order_cancelled", "goods_not_received", "wrong_amount", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class RefundRequest(Base):
    __tablename__ = "refund_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    transaction_reference: Mapped[str] = mapped_column(String(40), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)  # the customer's own words
    reason_code: Mapped[str] = mapped_column(String(24), nullable=False, default="other", server_default="other")
    evidence: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)  # attachment ids
    channel: Mapped[str] = mapped_column(String(12), nullable=False, default="api", server_default="api")
    status: Mapped[str] = mapped_column(String(18), nullable=False, default="submitted")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    merchant_id: Mapped[int | None] = mapped_column(BigInteger)
    merchant_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every change an approval depends on (the amount, the evidence) bumps it: a proposal names the
    # version it judged, and an approval of an older version is refused (maker-checker, 409).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    proposed_by: Mapped[int | None] = mapped_column(BigInteger)  # the maker (an agent id)
    proposed_version: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(40))  # "agent:7", "policy:small_amount", "merchant:3"
    rejection_code: Mapped[str | None] = mapped_column(String(32))  # a catalog key the customer reads
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    refund_reference: Mapped[str | None] = mapped_column(String(40))  # the wallet refund, once paid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("reason_code", REASONS), name="reason_code"),
        Index("ix_refund_requests_customer", "customer_id", "id"),
        Index("ix_refund_requests_txn", "transaction_reference"),
        Index("ix_refund_requests_merchant", "merchant_id", "id"),
        # The sweep reads only the requests still moving, by status and due time.
        Index("ix_refund_requests_open", "status", "merchant_due_at",
              postgresql_where=text("status IN ('awaiting_merchant', 'approved', 'processing')"),
              sqlite_where=text("status IN ('awaiting_merchant', 'approved', 'processing')")),
    )


class RefundEvent(Base):
    """One step of a request, as the customer's timeline shows it (who, when, what, why)."""

    __tablename__ = "refund_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("refund_requests.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(18), nullable=False)
    step: Mapped[str] = mapped_column(String(32), nullable=False)  # a catalog key: what happened
    actor: Mapped[str] = mapped_column(String(40), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_refund_events_request", "request_id", "id"),)


class RefundClawback(Base):
    """The cashback a refund takes back, once per request: due = taken + shortfall (never below zero)."""

    __tablename__ = "refund_clawbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("refund_requests.id"), nullable=False, unique=True)
    payment_reference: Mapped[str] = mapped_column(String(40), nullable=False)
    due: Mapped[int] = mapped_column(BigInteger, nullable=False)
    taken: Mapped[int] = mapped_column(BigInteger, nullable=False)
    shortfall: Mapped[int] = mapped_column(BigInteger, nullable=False)
    wallet_reference: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("due > 0 AND taken >= 0 AND shortfall >= 0 AND taken + shortfall = due", name="adds_up"),
        Index("ix_refund_clawbacks_payment", "payment_reference"),
    )


class MerchantApiKey(Base):
    """A merchant's key to the merchant API; only its hash is kept."""

    __tablename__ = "merchant_api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), nullable=False, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
