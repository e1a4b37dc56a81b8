"""Promotion tables.

- `promo_campaigns`: a cashback campaign: its period, reward (a percentage up to a cap, or a flat
  amount), the rules a payment must meet (`rules.RULES`), an optional budget and the delay before the
  cashback is credited. `granted_total` counts what it has promised so far, updated under the
  campaign's row lock so that the budget holds when payments race.
- `promo_decisions`: one row per payment the engine has looked at, eligible or not, so a payment is
  never rewarded twice (unique payment reference) and support can see what was decided and when.
- `promo_sweep_cursor`: where the sweep has read up to in the wallet's payments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime

CAMPAIGN_STATUSES = ("active", "paused", "ended")


class Campaign(Base):
    __tablename__ = "promo_campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    titles: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="active")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    percent: Mapped[int | None] = mapped_column(Integer)
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_cashback: Mapped[int | None] = mapped_column(BigInteger)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    budget: Mapped[int | None] = mapped_column(BigInteger)
    granted_total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credit_delay_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'ended')", name="status"),
        CheckConstraint("ends_at > starts_at", name="period"),
        CheckConstraint("(percent IS NULL) <> (flat_amount IS NULL)", name="one_reward"),
        CheckConstraint("percent IS NULL OR (percent > 0 AND percent <= 100)", name="percent_range"),
        CheckConstraint("granted_total >= 0 AND (budget IS NULL OR granted_total <= budget)", name="within_budget"),
        Index("ix_promo_campaigns_period", "status", "starts_at", "ends_at"),
    )


class Decision(Base):
    __tablename__ = "promo_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_reference: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("promo_campaigns.id"))
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    payment_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cashback_reference: Mapped[str | None] = mapped_column(String(24))
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("status IN ('none', 'scheduled', 'credited', 'failed', 'cancelled')", name="status"),
        CheckConstraint("(status = 'none') = (campaign_id IS NULL)", name="campaign_when_rewarded"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_promo_decisions_use", "campaign_id", "customer_id", "payment_at"),
        Index("ix_promo_decisions_due", "status", "due_at"),
    )


class SweepCursor(Base):
    """How far the sweep has read the wallet's succeeded payments: (created_at, reference)."""

    __tablename__ = "promo_sweep_cursor"

    name: Mapped[str] = mapped_column(String(24), primary_key=True)
    position_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    position_reference: Mapped[str] = mapped_column(String(24), nullable=False)


__all__ = ["CAMPAIGN_STATUSES", "Campaign", "Decision", "SweepCursor"]
