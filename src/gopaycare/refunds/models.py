"""Refund request table. Review and money movement come with the money-workflows work; until then
a request is recorded, linked to its ticket and shows its status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime


class RefundRequest(Base):
    __tablename__ = "refund_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    transaction_reference: Mapped[str] = mapped_column(String(40), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(14), nullable=False, default="submitted")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False)  # unique per customer
    refund_reference: Mapped[str | None] = mapped_column(String(40))  # the wallet refund, once paid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('submitted', 'under_review', 'approved', 'rejected', 'refunded')",
                        name="status"),
        Index("ix_refund_requests_customer", "customer_id", "id"),
        Index("ix_refund_requests_txn", "transaction_reference"),
        UniqueConstraint("customer_id", "idempotency_key", name="uq_refund_requests_customer_key"),
    )
