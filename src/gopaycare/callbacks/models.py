"""Every callback a provider sent, once per (provider, event id), with what became of it.

`settles_reference` is set on the one callback that settles a transaction (unique: a second callback
for the same payment, under another event id, cannot settle it again); `ledger verify` checks that an
applied callback's transaction holds the status it recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime

# What became of a callback: applied (it settled its transaction), already_final (the transaction was
# settled before), unknown_payment, amount_mismatch, not_applicable (a kind no provider settles), ignored
# (a status that settles nothing: pending, a refund notice).
RESULTS = ("received", "applied", "already_final", "unknown_payment", "amount_mismatch", "not_applicable",
           "ignored")


class PaymentCallback(Base):
    __tablename__ = "payment_callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(128), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(64))  # our transaction reference, as the provider said it
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)  # succeeded | failed | none
    amount: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    # The transaction's status after this callback (applied / already_final).
    transaction_status: Mapped[str | None] = mapped_column(String(12))
    settles_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    deliveries: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_payment_callbacks_event"),
        CheckConstraint("outcome IN ('succeeded', 'failed', 'none')", name="outcome"),
        CheckConstraint("result IN ('" + "', '".join(RESULTS) + "')", name="result"),
        Index("ix_payment_callbacks_reference", "reference"),
    )
