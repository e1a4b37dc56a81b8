"""Cashback campaigns over HTTP: their terms, managing them, and one payment's decision explained."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from ...promotions.rules import Check
from ...promotions.service import CampaignResult, CampaignView, DecisionView, PaymentEvaluation
from ...promotions.texts import describe, why
from .common import BigInt, In, Moment, Out, SmallInt, Timestamp


class CampaignIn(In):
    code: str = Field(min_length=3, max_length=24)
    titles: dict[str, str] = Field(min_length=1, max_length=3)
    starts_at: Moment
    ends_at: Moment
    percent: BigInt | None = None
    flat_amount: BigInt | None = None
    max_cashback: BigInt | None = None
    rules: dict[str, Any] = Field(default_factory=dict)
    budget: BigInt | None = None
    credit_delay_hours: SmallInt = 0


class GrantIn(In):
    campaign: str = Field(min_length=3, max_length=24)
    reason: str = Field(min_length=3, max_length=500)


class CampaignStatusIn(In):
    status: Literal["active", "paused", "ended"]


class PublicCampaignOut(Out):
    """What the help center shows of a running campaign."""

    code: str
    title: str = Field(description="in the language asked for")
    starts_at: Timestamp
    ends_at: Timestamp
    percent: int | None
    flat_amount: int | None
    max_cashback: int | None
    rules: dict[str, Any]
    terms: str = Field(description="the terms in words")

    @classmethod
    def fields_of(cls, c: CampaignView, lang: str, tz: ZoneInfo) -> dict[str, Any]:
        return dict(code=c.code, title=c.title(lang), starts_at=c.starts_at, ends_at=c.ends_at, percent=c.percent,
                    flat_amount=c.flat_amount, max_cashback=c.max_cashback, rules=c.rules,
                    terms=describe(c, lang, tz))

    @classmethod
    def of(cls, c: CampaignView, lang: str, tz: ZoneInfo) -> PublicCampaignOut:
        return cls(**cls.fields_of(c, lang, tz))


class CampaignOut(PublicCampaignOut):
    titles: dict[str, str] | None
    status: str
    budget: int | None
    granted_total: int
    credit_delay_hours: int

    @classmethod
    def of(cls, c: CampaignView, lang: str, tz: ZoneInfo) -> CampaignOut:
        return cls(**cls.fields_of(c, lang, tz), titles=c.titles, status=c.status, budget=c.budget,
                   granted_total=c.granted_total, credit_delay_hours=c.credit_delay_hours)


class PublicCampaignList(Out):
    items: list[PublicCampaignOut]


class CampaignList(Out):
    items: list[CampaignOut]


class DecisionOut(Out):
    status: str
    campaign: str | None
    amount: int
    due_at: Timestamp | None
    cashback_reference: str | None
    failure_reason: str | None

    @classmethod
    def of(cls, d: DecisionView | None) -> DecisionOut | None:
        if d is None:
            return None
        return cls(status=d.status, campaign=d.campaign_code, amount=d.amount, due_at=d.due_at,
                   cashback_reference=d.cashback_reference, failure_reason=d.failure_reason)


class GrantOut(Out):
    decision: DecisionOut | None


class CheckOut(Out):
    rule: str
    passed: bool
    facts: dict[str, Any] = Field(description="the numbers the rule compared (times as ISO 8601 text)")
    why: str | None = Field(description="the failed rule in words; null when it passed")

    @classmethod
    def of(cls, check: Check, lang: str, tz: ZoneInfo) -> CheckOut:
        facts = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in check.facts.items()}
        return cls(rule=check.rule, passed=check.passed, facts=facts,
                   why=None if check.passed else why(check, lang, tz))


class CampaignCheckOut(Out):
    code: str
    title: str
    eligible: bool
    cashback: int
    checks: list[CheckOut]

    @classmethod
    def of(cls, r: CampaignResult, lang: str, tz: ZoneInfo) -> CampaignCheckOut:
        return cls(code=r.campaign.code, title=r.campaign.title(lang), eligible=r.eligible, cashback=r.cashback,
                   checks=[CheckOut.of(c, lang, tz) for c in r.checks])


class PaymentOut(Out):
    reference: str
    amount: int
    merchant: str | None
    at: Timestamp


class CashbackOut(Out):
    payment: PaymentOut
    decision: DecisionOut | None
    campaigns: list[CampaignCheckOut]

    @classmethod
    def of(cls, evaluation: PaymentEvaluation, lang: str, tz: ZoneInfo) -> CashbackOut:
        p = evaluation.payment
        return cls(payment=PaymentOut(reference=p.reference, amount=p.amount, merchant=p.merchant_name,
                                      at=p.created_at),
                   decision=DecisionOut.of(evaluation.decision),
                   campaigns=[CampaignCheckOut.of(r, lang, tz) for r in evaluation.results])
