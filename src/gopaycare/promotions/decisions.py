"""A payment's decision as everyone reads it: which campaign, how much, and where its credit stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Campaign, Decision

REWARDED = ("scheduled", "credited")


@dataclass(frozen=True)
class DecisionView:
    payment_reference: str
    customer_id: int
    campaign_code: str | None
    amount: int
    status: str
    payment_at: datetime
    due_at: datetime | None
    cashback_reference: str | None
    failure_reason: str | None
    updated_at: datetime


def decision_view(s: Session, reference: str) -> DecisionView | None:
    row = s.execute(select(Decision, Campaign.code).outerjoin(Campaign, Campaign.id == Decision.campaign_id)
                    .where(Decision.payment_reference == reference)).one_or_none()
    if row is None:
        return None
    d, code = row
    return DecisionView(d.payment_reference, d.customer_id, code, d.amount, d.status, d.payment_at, d.due_at,
                        d.cashback_reference, d.failure_reason, d.updated_at)
