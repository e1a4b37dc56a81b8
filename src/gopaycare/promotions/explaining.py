"""What a customer (or an agent on their behalf) is told: the campaigns open to them now, and every
campaign near a payment checked against it (the answer to "why no cashback?")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..identity.service import IdentityService
from ..platform.clock import Clock
from ..platform.db import Database
from ..wallet.port import TransactionView, WalletBackend
from .campaigns import CampaignView, campaign_view, running_at
from .decisions import REWARDED, DecisionView, decision_view
from .facts import Facts
from .models import Campaign
from .rules import Check, check, customer_checks

# How far around a payment to look for campaigns that explain why it earned nothing ("it ended on ...").
NEARBY = timedelta(days=30)


@dataclass(frozen=True)
class CampaignResult:
    campaign: CampaignView
    checks: list[Check]
    cashback: int

    @property
    def eligible(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


@dataclass(frozen=True)
class PaymentEvaluation:
    payment: TransactionView
    decision: DecisionView | None
    results: list[CampaignResult]

    def best(self) -> CampaignResult | None:
        eligible = [r for r in self.results if r.eligible and r.cashback > 0]
        return max(eligible, key=lambda r: (r.cashback, -r.campaign.id)) if eligible else None

    def closest(self, limit: int = 3) -> list[CampaignResult]:
        """The campaigns that came nearest to paying: running at the time first, fewest failed rules."""
        def distance(r: CampaignResult) -> tuple[bool, int, int]:
            in_period = all(c.passed for c in r.checks if c.rule == "period")
            return (not in_period, len(r.failed), r.campaign.id)
        return sorted(self.results, key=distance)[:limit]


@dataclass(frozen=True)
class Offer:
    campaign: CampaignView
    uses_left: int | None


class Explaining:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, identity: IdentityService, facts: Facts,
                 tz: ZoneInfo) -> None:
        self.db, self.clock, self.wallet, self.identity, self.facts, self.tz = db, clock, wallet, identity, facts, tz

    def offers(self, customer_id: int) -> list[Offer]:
        """The active campaigns this customer can still earn from, now."""
        now, tier = self.clock.now(), self.wallet.summary(customer_id).tier
        since = self.identity.get(customer_id).created_at
        out = []
        with self.db.read() as s:
            campaigns = s.scalars(running_at(now).order_by(Campaign.ends_at)).all()
            for c in campaigns:
                view = campaign_view(c)
                usage = self.facts.usage(s, c.id, customer_id, now)
                if all(x.passed for x in customer_checks(view, tier=tier, customer_since=since, now=now, usage=usage)):
                    limit = view.rules.get("max_per_customer")
                    out.append(Offer(view, None if limit is None else limit - usage.total))
        return out

    def evaluate(self, customer_id: int, reference: str) -> PaymentEvaluation:
        """Every campaign near the payment's time checked against it (the answer to "why no cashback?")."""
        facts, payment = self.facts.payment(customer_id, reference)
        with self.db.read() as s:
            decision = decision_view(s, facts.reference)
            campaigns = s.scalars(select(Campaign).where(Campaign.starts_at <= facts.at + NEARBY,
                                                         Campaign.ends_at > facts.at - NEARBY)
                                  .order_by(Campaign.id)).all()
            results = []
            for c in campaigns:
                view = campaign_view(c)
                if decision is not None and decision.campaign_code == c.code and decision.status in REWARDED:
                    # Its own promise is part of granted_total; judge the budget without it.
                    view = replace(view, granted_total=view.granted_total - decision.amount)
                usage = self.facts.usage(s, c.id, customer_id, facts.at, exclude=facts.reference)
                checks = check(view, facts, usage, self.tz)
                results.append(CampaignResult(view, checks, view.cashback_for(facts.amount)))
        return PaymentEvaluation(payment, decision, results)
