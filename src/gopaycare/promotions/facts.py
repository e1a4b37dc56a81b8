"""What a campaign's rules are checked against: a payment's facts, gathered from the wallet and
identity, and how often a customer has already earned from a campaign."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..identity.service import IdentityService
from ..platform.errors import NotFound
from ..wallet.port import PaidPayment, TransactionView, WalletBackend
from .decisions import REWARDED
from .models import Decision
from .rules import PaymentFacts, Usage


class Facts:
    def __init__(self, wallet: WalletBackend, identity: IdentityService, tz: ZoneInfo) -> None:
        self.wallet, self.identity, self.tz = wallet, identity, tz

    def payment(self, customer_id: int, reference: str,
                paid: PaidPayment | None = None) -> tuple[PaymentFacts, TransactionView]:
        reference = (reference or "").strip().upper()
        if paid is not None and paid.customer_id == customer_id and paid.payment.reference == reference:
            payment: TransactionView | None = paid.payment
        else:
            payment = next((x for x in self.wallet.list_transactions(customer_id, limit=200)
                            if x.reference == reference and x.kind == "payment"), None)
        if payment is None:  # another customer's payment answers like an unknown one
            raise NotFound("no such payment in your history", reference=reference)
        merchant = self.wallet.merchant(payment.merchant_id) if payment.merchant_id else None
        facts = PaymentFacts(
            reference=payment.reference, customer_id=customer_id, amount=payment.amount, status=payment.status,
            refunded_amount=payment.refunded_amount, at=payment.created_at, channel=payment.method,
            merchant_id=payment.merchant_id, merchant_name=payment.merchant_name,
            merchant_category=merchant.category if merchant else None,
            tier=self.wallet.summary(customer_id).tier, customer_since=self.identity.get(customer_id).created_at)
        return facts, payment

    def usage(self, s: Session, campaign_id: int, customer_id: int, at: datetime, *,
              exclude: str | None = None) -> Usage:
        base = select(func.count()).select_from(Decision).where(
            Decision.campaign_id == campaign_id, Decision.customer_id == customer_id, Decision.status.in_(REWARDED))
        if exclude:  # judging one payment again: its own decision and later payments do not count
            base = base.where(Decision.payment_reference != exclude, Decision.payment_at <= at)
        local = at.astimezone(self.tz).date()
        day_start = datetime.combine(local, time(0), self.tz)
        on_day = base.where(Decision.payment_at >= day_start, Decision.payment_at < day_start + timedelta(days=1))
        return Usage(total=int(s.execute(base).scalar_one()), on_day=int(s.execute(on_day).scalar_one()))
