"""Deciding a payment's cashback and crediting it.

A payment is decided once: `award` looks at every active campaign whose period holds the payment,
takes the eligible one with the largest reward (campaigns do not stack) and stores the decision
(unique per payment) together with the campaign's new `granted_total`, all under the campaigns' row
locks, so two racing payments cannot both take the last of a budget or of a per-customer quota. A
payment that earns nothing is stored as a decision too, so the sweep does not look at it again.

The credit itself goes through `WalletBackend.credit_cashback` with a key derived from the decision
id: a crash after the credit and before the decision is marked only makes the next sweep ask the
wallet again, which answers with the first credit. A payment refunded in full before its cashback is
due gets nothing; the promise goes back to the budget.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import DomainError
from ..wallet.port import PaidPayment, WalletBackend
from .campaigns import campaign_view, running_at
from .decisions import DecisionView, decision_view
from .facts import Facts
from .models import Campaign, Decision
from .rules import check


class Awards:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, facts: Facts, tz: ZoneInfo) -> None:
        self.db, self.clock, self.wallet, self.facts, self.tz = db, clock, wallet, facts, tz

    def decision(self, reference: str) -> DecisionView | None:
        with self.db.read() as s:
            return decision_view(s, reference)

    def award(self, customer_id: int, reference: str, *, paid: PaidPayment | None = None) -> DecisionView:
        """Decide the payment's cashback once (see the module doc) and credit it if it is due. `paid`:
        the payment as the wallet already gave it with its payer (the sweep), saving the history lookup."""
        with self.db.read() as s:
            existing = decision_view(s, (reference or "").strip().upper())
        if existing is not None:
            return existing
        facts, _ = self.facts.payment(customer_id, reference, paid)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                # Locked in id order, so racing awards cannot deadlock.
                campaigns = s.scalars(running_at(facts.at).order_by(Campaign.id).with_for_update()).all()
                best: tuple[int, Campaign] | None = None
                for c in campaigns:
                    view = campaign_view(c)
                    checks = check(view, facts, self.facts.usage(s, c.id, customer_id, facts.at), self.tz)
                    amount = view.cashback_for(facts.amount)
                    if all(x.passed for x in checks) and amount > 0 and (best is None or amount > best[0]):
                        best = (amount, c)
                decision = Decision(payment_reference=facts.reference, customer_id=customer_id, status="none",
                                    amount=0, payment_at=facts.at, created_at=now, updated_at=now)
                if best is not None:
                    amount, campaign = best
                    campaign.granted_total += amount
                    decision.campaign_id, decision.amount, decision.status = campaign.id, amount, "scheduled"
                    decision.due_at = facts.at + timedelta(hours=campaign.credit_delay_hours)
                s.add(decision)
                s.flush()
                view_now = decision_view(s, facts.reference)
        except IntegrityError:  # decided by a concurrent call: that decision stands
            found = self.decision(facts.reference)
            if found is None:
                raise
            return found
        assert view_now is not None
        if view_now.status == "scheduled" and view_now.due_at is not None and view_now.due_at <= now:
            return self.credit(facts.reference)
        return view_now

    def credit_due(self, *, limit: int = 200) -> int:
        """Credit the scheduled cashback whose time has come; returns how many were settled."""
        with self.db.read() as s:
            refs = s.scalars(select(Decision.payment_reference).where(
                Decision.status == "scheduled", Decision.due_at <= self.clock.now())
                .order_by(Decision.due_at).limit(limit)).all()
        return sum(1 for ref in refs if self.credit(ref).status != "scheduled")

    def credit(self, reference: str) -> DecisionView:
        with self.db.read() as s:
            decision = s.execute(select(Decision).where(Decision.payment_reference == reference)).scalar_one()
            campaign = s.get(Campaign, decision.campaign_id) if decision.campaign_id else None
        if decision.status != "scheduled" or campaign is None:
            return self.decision(reference)  # type: ignore[return-value]
        payment = self.wallet.get_transaction(reference)
        if payment.status != "succeeded" or payment.refunded_amount >= payment.amount:
            return self._close(decision.id, "cancelled", failure="PAYMENT_REFUNDED", give_back=True)
        try:
            credit = self.wallet.credit_cashback(decision.customer_id, decision.amount, f"promo-{decision.id}",
                                                 campaign=campaign.code, original_reference=reference)
        except DomainError as exc:
            return self._close(decision.id, "failed", failure=(exc.code or "ERROR")[:32].upper(), give_back=True)
        if credit.status != "succeeded":
            return self._close(decision.id, "failed", failure=credit.failure_reason, give_back=True,
                               cashback_reference=credit.reference)
        return self._close(decision.id, "credited", cashback_reference=credit.reference)

    def _close(self, decision_id: int, status: str, *, failure: str | None = None, give_back: bool = False,
               cashback_reference: str | None = None) -> DecisionView:
        now = self.clock.now()
        with self.db.transaction() as s:
            decision = s.execute(select(Decision).where(Decision.id == decision_id).with_for_update()).scalar_one()
            if decision.status == "scheduled":  # only the first to finish records the outcome
                if give_back:
                    s.execute(update(Campaign).where(Campaign.id == decision.campaign_id)
                              .values(granted_total=Campaign.granted_total - decision.amount))
                decision.status, decision.failure_reason, decision.updated_at = status, failure, now
                decision.cashback_reference = cashback_reference
                audit.record(s, at=now, actor=Actor.system(), action=f"promotion.cashback_{status}",
                             subject_type="payment", subject_id=decision.payment_reference, amount=decision.amount,
                             customer_id=decision.customer_id, reason=failure)
            s.flush()
            view = decision_view(s, decision.payment_reference)
        assert view is not None
        return view
