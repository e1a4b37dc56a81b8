"""Granting by hand: a person gives a payment that earned nothing a campaign's cashback after all."""

from __future__ import annotations

from sqlalchemy import select

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, ValidationFailed
from .awards import Awards
from .campaigns import campaign_view, find_campaign
from .decisions import DecisionView
from .facts import Facts
from .models import Decision


class Grants:
    def __init__(self, db: Database, clock: Clock, facts: Facts, awards: Awards) -> None:
        self.db, self.clock, self.facts, self.awards = db, clock, facts, awards

    def grant(self, customer_id: int, reference: str, *, campaign: str, reason: str, actor: Actor) -> DecisionView:
        """A person decides that a payment which earned nothing gets this campaign's cashback after all
        (say, its quota was full at the time and the customer was told otherwise). The budget still
        holds; the reason is audited. Only a payment decided as "none" (or not yet decided) can be
        granted: a reward stands, and a refused credit needs the wallet fixed first."""
        reason = " ".join((reason or "").split())
        if not 3 <= len(reason) <= 500:
            raise ValidationFailed("say why this cashback is granted", field="reason")
        facts, _ = self.facts.payment(customer_id, reference)
        if facts.status != "succeeded" or facts.refunded_amount >= facts.amount:
            raise Conflict("only a completed payment that was not refunded earns cashback", code="not_eligible",
                           reference=facts.reference)
        now = self.clock.now()
        with self.db.transaction() as s:
            chosen = find_campaign(s, campaign, for_update=True)
            decision = s.execute(select(Decision).where(Decision.payment_reference == facts.reference)
                                 .with_for_update()).scalar_one_or_none()
            if decision is not None and decision.status != "none":
                raise Conflict("this payment's cashback is already decided", code="already_decided",
                               reference=facts.reference, status=decision.status)
            amount = campaign_view(chosen).cashback_for(facts.amount)
            if chosen.budget is not None and chosen.granted_total + amount > chosen.budget:
                raise Conflict("the campaign's budget cannot cover it", code="budget_exhausted",
                               campaign=chosen.code, left=chosen.budget - chosen.granted_total)
            if decision is None:
                decision = Decision(payment_reference=facts.reference, customer_id=customer_id,
                                    payment_at=facts.at, created_at=now)
                s.add(decision)
            chosen.granted_total += amount
            decision.campaign_id, decision.amount, decision.status = chosen.id, amount, "scheduled"
            decision.due_at, decision.updated_at = now, now
            audit.record(s, at=now, actor=actor, action="promotion.granted", subject_type="payment",
                         subject_id=facts.reference, reason=reason, campaign=chosen.code, amount=amount,
                         customer_id=customer_id)
        return self.awards.credit(facts.reference)
