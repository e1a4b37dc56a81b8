"""Dispute cases and their evidence.

States (Stripe's dispute lifecycle, named from the customer's side: "won" means the customer won):
needs_response (the merchant has until `response_due_at`) → under_review → won | lost; withdrawn by the
customer before a decision. Money is recorded here by the wallet references it moved under: the
provisional credit and its taking back, and the refund of a won case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime

REASONS = ("unrecognised_charge", "not_delivered", "not_as_described")
STATUSES = ("needs_response", "under_review", "won", "lost", "withdrawn")
OPEN = ("needs_response", "under_review")
EVIDENCE_KINDS = ("description", "communication", "receipt", "shipping_proof", "file", "merchant_response", "note")
PARTIES = ("customer", "merchant", "agent")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ('" + "', '".join(values) + "')"


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    transaction_reference: Mapped[str] = mapped_column(String(40), nullable=False)
    merchant_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(24), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="needs_response")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    froze_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Provisional credit: what was decided at opening (0: none), then what the wallet moved.
    provisional_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    provisional_reference: Mapped[str | None] = mapped_column(String(24))
    provisional_taken_back: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    provisional_shortfall: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    take_back_reference: Mapped[str | None] = mapped_column(String(24))
    refund_reference: Mapped[str | None] = mapped_column(String(24))  # a won case's refund from the merchant
    refunded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)  # the agent
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("reason", REASONS), name="reason"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("provisional_amount >= 0 AND provisional_taken_back >= 0 AND provisional_shortfall >= 0 "
                        "AND provisional_taken_back + provisional_shortfall <= provisional_amount",
                        name="provisional_within_credit"),
        Index("ix_disputes_customer", "customer_id", "id"),
        Index("ix_disputes_reference", "transaction_reference"),
        Index("ix_disputes_status", "status", "id"),
    )


class DisputeEvidence(Base):
    __tablename__ = "dispute_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), nullable=False)
    party: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(_in("party", PARTIES), name="party"),
        CheckConstraint(_in("kind", EVIDENCE_KINDS), name="kind"),
        Index("ix_dispute_evidence_dispute", "dispute_id", "id"),
    )
