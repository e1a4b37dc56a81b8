"""Cashback campaigns: which are open to a customer, which payment earns what, and why not.

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

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..identity.service import IdentityService
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, NotFound, ValidationFailed
from ..platform.i18n import LANGUAGES
from ..wallet.port import PaidPayment, TransactionView, WalletBackend
from .models import CAMPAIGN_STATUSES, Campaign, Decision, SweepCursor
from .rules import CampaignTerms, Check, PaymentFacts, Usage, check, customer_checks, validate_rules

REWARDED = ("scheduled", "credited")
SWEEP = "payments"
SETTLE = timedelta(minutes=1)
FIRST_LOOKBACK = timedelta(hours=48)
# How far around a payment to look for campaigns that explain why it earned nothing ("it ended on ...").
NEARBY = timedelta(days=30)


@dataclass(frozen=True)
class CampaignView(CampaignTerms):
    id: int = 0
    titles: dict[str, str] | None = None
    credit_delay_hours: int = 0

    def title(self, lang: str) -> str:
        titles = self.titles or {}
        return titles.get(lang) or titles.get("en") or next(iter(titles.values()), self.code)


def _campaign_view(c: Campaign) -> CampaignView:
    return CampaignView(code=c.code, status=c.status, starts_at=c.starts_at, ends_at=c.ends_at, percent=c.percent,
                        flat_amount=c.flat_amount, max_cashback=c.max_cashback, rules=dict(c.rules or {}),
                        budget=c.budget, granted_total=c.granted_total, id=c.id, titles=dict(c.titles),
                        credit_delay_hours=c.credit_delay_hours)


def _running_at(at: datetime) -> Select[tuple[Campaign]]:
    """Active campaigns whose period holds `at`."""
    return select(Campaign).where(Campaign.status == "active", Campaign.starts_at <= at, Campaign.ends_at > at)


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


class Promotions:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, identity: IdentityService,
                 tz: ZoneInfo) -> None:
        self.db, self.clock, self.wallet, self.identity, self.tz = db, clock, wallet, identity, tz

    # ------------------------------------------------------------------ campaigns

    def create(self, code: str, titles: dict[str, str], starts_at: datetime, ends_at: datetime, *,
               percent: int | None = None, flat_amount: int | None = None, max_cashback: int | None = None,
               rules: dict[str, Any] | None = None, budget: int | None = None, credit_delay_hours: int = 0,
               actor: Actor) -> CampaignView:
        code = (code or "").strip().upper()
        if not code.isalnum() or not 3 <= len(code) <= 24:
            raise ValidationFailed("a campaign code is 3 to 24 letters or digits", field="code")
        if not isinstance(titles, dict) or not titles or not set(titles) <= set(LANGUAGES) or not all(
                isinstance(v, str) and 1 <= len(v.strip()) <= 120 for v in titles.values()):
            raise ValidationFailed(f"titles: one to three of {', '.join(LANGUAGES)}, 1-120 characters",
                                   field="titles")
        if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
            raise ValidationFailed("the campaign must end after it starts (times with a time zone)", field="ends_at")
        if (percent is None) == (flat_amount is None):
            raise ValidationFailed("give either a percentage or a flat amount", field="percent")
        for name, value, low, high in (("percent", percent, 1, 100), ("flat_amount", flat_amount, 1, 10**9),
                                       ("max_cashback", max_cashback, 1, 10**9), ("budget", budget, 1, 10**12),
                                       ("credit_delay_hours", credit_delay_hours, 0, 24 * 90)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not low <= value <= high):
                raise ValidationFailed(f"{name} must be a whole number from {low} to {high}", field=name)
        clean_rules = validate_rules(rules)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                campaign = Campaign(code=code, titles={k: v.strip() for k, v in titles.items()}, status="active",
                                    starts_at=starts_at, ends_at=ends_at, percent=percent, flat_amount=flat_amount,
                                    max_cashback=max_cashback, rules=clean_rules, budget=budget, granted_total=0,
                                    credit_delay_hours=credit_delay_hours, created_at=now, updated_at=now)
                s.add(campaign)
                s.flush()
                audit.record(s, at=now, actor=actor, action="promotion.created", subject_type="campaign",
                             subject_id=campaign.id, code=code)
                return _campaign_view(campaign)
        except IntegrityError:
            raise Conflict("a campaign with this code exists", code="campaign_exists", campaign=code) from None

    def set_status(self, code: str, status: str, *, actor: Actor) -> CampaignView:
        if status not in CAMPAIGN_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(CAMPAIGN_STATUSES)}", field="status")
        now = self.clock.now()
        with self.db.transaction() as s:
            campaign = self._campaign(s, code, for_update=True)
            if campaign.status == "ended" and status != "ended":
                raise Conflict("an ended campaign cannot start again", code="campaign_ended", campaign=campaign.code)
            before, campaign.status, campaign.updated_at = campaign.status, status, now
            audit.record(s, at=now, actor=actor, action="promotion.status", subject_type="campaign",
                         subject_id=campaign.id, before=before, after=status)
            return _campaign_view(campaign)

    def get(self, code: str) -> CampaignView:
        with self.db.read() as s:
            return _campaign_view(self._campaign(s, code))

    def list(self, *, status: str | None = None) -> list[CampaignView]:
        with self.db.read() as s:
            stmt = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id)
            if status:
                stmt = stmt.where(Campaign.status == status)
            return [_campaign_view(c) for c in s.scalars(stmt)]

    def running(self) -> list[CampaignView]:
        """The campaigns paying out now, ending soonest first (what the help center shows)."""
        with self.db.read() as s:
            return [_campaign_view(c) for c in s.scalars(_running_at(self.clock.now()).order_by(Campaign.ends_at))]

    @staticmethod
    def _campaign(s: Session, code: str, *, for_update: bool = False) -> Campaign:
        stmt = select(Campaign).where(Campaign.code == (code or "").strip().upper())
        campaign = s.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
        if campaign is None:
            raise NotFound("no such campaign", campaign=code)
        return campaign

    # ------------------------------------------------------------------ customers

    def offers(self, customer_id: int) -> list[Offer]:
        """The active campaigns this customer can still earn from, now."""
        now, tier = self.clock.now(), self.wallet.summary(customer_id).tier
        since = self.identity.get(customer_id).created_at
        out = []
        with self.db.read() as s:
            campaigns = s.scalars(_running_at(now).order_by(Campaign.ends_at)).all()
            for c in campaigns:
                view = _campaign_view(c)
                usage = self._usage(s, c.id, customer_id, now)
                if all(x.passed for x in customer_checks(view, tier=tier, customer_since=since, now=now, usage=usage)):
                    limit = view.rules.get("max_per_customer")
                    out.append(Offer(view, None if limit is None else limit - usage.total))
        return out

    def decision(self, reference: str) -> DecisionView | None:
        with self.db.read() as s:
            return self._decision(s, reference)

    # ------------------------------------------------------------------ payments

    def evaluate(self, customer_id: int, reference: str) -> PaymentEvaluation:
        """Every campaign near the payment's time checked against it (the answer to "why no cashback?")."""
        facts, payment = self._facts(customer_id, reference)
        with self.db.read() as s:
            decision = self._decision(s, facts.reference)
            campaigns = s.scalars(select(Campaign).where(Campaign.starts_at <= facts.at + NEARBY,
                                                         Campaign.ends_at > facts.at - NEARBY)
                                  .order_by(Campaign.id)).all()
            results = []
            for c in campaigns:
                view = _campaign_view(c)
                if decision is not None and decision.campaign_code == c.code and decision.status in REWARDED:
                    # Its own promise is part of granted_total; judge the budget without it.
                    view = replace(view, granted_total=view.granted_total - decision.amount)
                usage = self._usage(s, c.id, customer_id, facts.at, exclude=facts.reference)
                checks = check(view, facts, usage, self.tz)
                results.append(CampaignResult(view, checks, view.cashback_for(facts.amount)))
        return PaymentEvaluation(payment, decision, results)

    def award(self, customer_id: int, reference: str, *, paid: PaidPayment | None = None) -> DecisionView:
        """Decide the payment's cashback once (see the module doc) and credit it if it is due. `paid`:
        the payment as the wallet already gave it with its payer (the sweep), saving the history lookup."""
        with self.db.read() as s:
            existing = self._decision(s, (reference or "").strip().upper())
        if existing is not None:
            return existing
        facts, _ = self._facts(customer_id, reference, paid)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                # Locked in id order, so racing awards cannot deadlock.
                campaigns = s.scalars(_running_at(facts.at).order_by(Campaign.id).with_for_update()).all()
                best: tuple[int, Campaign] | None = None
                for c in campaigns:
                    view = _campaign_view(c)
                    checks = check(view, facts, self._usage(s, c.id, customer_id, facts.at), self.tz)
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
                view_now = self._decision(s, facts.reference)
        except IntegrityError:  # decided by a concurrent call: that decision stands
            found = self.decision(facts.reference)
            if found is None:
                raise
            return found
        assert view_now is not None
        if view_now.status == "scheduled" and view_now.due_at is not None and view_now.due_at <= now:
            return self._credit(facts.reference)
        return view_now

    def grant(self, customer_id: int, reference: str, *, campaign: str, reason: str, actor: Actor) -> DecisionView:
        """A person decides that a payment which earned nothing gets this campaign's cashback after all
        (say, its quota was full at the time and the customer was told otherwise). The budget still
        holds; the reason is audited. Only a payment decided as "none" (or not yet decided) can be
        granted: a reward stands, and a refused credit needs the wallet fixed first."""
        reason = " ".join((reason or "").split())
        if not 3 <= len(reason) <= 500:
            raise ValidationFailed("say why this cashback is granted", field="reason")
        facts, _ = self._facts(customer_id, reference)
        if facts.status != "succeeded" or facts.refunded_amount >= facts.amount:
            raise Conflict("only a completed payment that was not refunded earns cashback", code="not_eligible",
                           reference=facts.reference)
        now = self.clock.now()
        with self.db.transaction() as s:
            chosen = self._campaign(s, campaign, for_update=True)
            decision = s.execute(select(Decision).where(Decision.payment_reference == facts.reference)
                                 .with_for_update()).scalar_one_or_none()
            if decision is not None and decision.status != "none":
                raise Conflict("this payment's cashback is already decided", code="already_decided",
                               reference=facts.reference, status=decision.status)
            amount = _campaign_view(chosen).cashback_for(facts.amount)
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
        return self._credit(facts.reference)

    def credit_due(self, *, limit: int = 200) -> int:
        """Credit the scheduled cashback whose time has come; returns how many were settled."""
        with self.db.read() as s:
            refs = s.scalars(select(Decision.payment_reference).where(
                Decision.status == "scheduled", Decision.due_at <= self.clock.now())
                .order_by(Decision.due_at).limit(limit)).all()
        return sum(1 for ref in refs if self._credit(ref).status != "scheduled")

    def sweep(self, *, batch: int = 500, batches: int = 20) -> dict[str, int]:
        """Decide the payments nobody decided yet (a job lost between commit and enqueue), reading the
        wallet's succeeded payments once, in order, from a stored cursor; then credit what is due.
        Payments younger than `SETTLE` are left for the next run: one that commits a little after its
        created_at must not fall behind the cursor."""
        until = self.clock.now() - SETTLE
        position = self._cursor()
        decided = 0
        for _ in range(batches):
            paid = self.wallet.paid_after(position, until, limit=batch)
            refs = [p.payment.reference for p in paid]
            with self.db.read() as s:
                known = set(s.scalars(select(Decision.payment_reference)
                                      .where(Decision.payment_reference.in_(refs)))) if refs else set()
            for p in paid:
                if p.payment.reference not in known:
                    self.award(p.customer_id, p.payment.reference, paid=p)
                    decided += 1
            if paid:
                position = (paid[-1].payment.created_at, paid[-1].payment.reference)
                self._save_cursor(position)
            if len(paid) < batch:
                break
        return {"decided": decided, "credited": self.credit_due()}

    def _cursor(self) -> tuple[datetime, str]:
        with self.db.read() as s:
            row = s.get(SweepCursor, SWEEP)
        if row is None:  # first run: look back far enough for any payment a lost job left behind
            return self.clock.now() - FIRST_LOOKBACK, ""
        return row.position_at, row.position_reference

    def _save_cursor(self, position: tuple[datetime, str]) -> None:
        with self.db.transaction() as s:
            row = s.get(SweepCursor, SWEEP, with_for_update=True)
            if row is None:
                s.add(SweepCursor(name=SWEEP, position_at=position[0], position_reference=position[1]))
            elif (row.position_at, row.position_reference) < position:  # a concurrent sweep may be ahead
                row.position_at, row.position_reference = position

    def _credit(self, reference: str) -> DecisionView:
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
            view = self._decision(s, decision.payment_reference)
        assert view is not None
        return view

    # ------------------------------------------------------------------ facts

    def _facts(self, customer_id: int, reference: str,
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

    def _usage(self, s: Session, campaign_id: int, customer_id: int, at: datetime, *,
               exclude: str | None = None) -> Usage:
        base = select(func.count()).select_from(Decision).where(
            Decision.campaign_id == campaign_id, Decision.customer_id == customer_id, Decision.status.in_(REWARDED))
        if exclude:  # judging one payment again: its own decision and later payments do not count
            base = base.where(Decision.payment_reference != exclude, Decision.payment_at <= at)
        local = at.astimezone(self.tz).date()
        day_start = datetime.combine(local, time(0), self.tz)
        on_day = base.where(Decision.payment_at >= day_start, Decision.payment_at < day_start + timedelta(days=1))
        return Usage(total=int(s.execute(base).scalar_one()), on_day=int(s.execute(on_day).scalar_one()))

    @staticmethod
    def _decision(s: Session, reference: str) -> DecisionView | None:
        row = s.execute(select(Decision, Campaign.code).outerjoin(Campaign, Campaign.id == Decision.campaign_id)
                        .where(Decision.payment_reference == reference)).one_or_none()
        if row is None:
            return None
        d, code = row
        return DecisionView(d.payment_reference, d.customer_id, code, d.amount, d.status, d.payment_at, d.due_at,
                            d.cashback_reference, d.failure_reason, d.updated_at)

