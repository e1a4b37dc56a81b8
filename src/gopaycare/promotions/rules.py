"""A campaign's rules, checked one by one against a payment.

The rule vocabulary is small and closed, so that every failure can be said to a customer in words
with its numbers ("the minimum is Rp50.000, your payment was Rp30.000"), which a free-form
expression language could not give. Checks are pure functions of `PaymentFacts` and `Usage`; the
service gathers those facts from the wallet and identity and decides under a lock.

Rules (all optional, all must hold):
- channels: payment channels, e.g. ["qr"] or ["qr", "online"]
- merchant_categories: e.g. ["food", "ride"]
- merchant_ids: specific merchants
- min_amount: the smallest payment, in rupiah
- tiers: wallet tiers, e.g. ["plus"]
- new_customer_days: only customers registered at most this many days before the payment
- max_per_customer: rewards per customer over the whole campaign
- max_per_customer_per_day: rewards per customer per local (WIB) day
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..platform.errors import ValidationFailed
from ..wallet.rules import TIERS

CHANNELS = ("qr", "online")
LIST_RULES = {"channels": str, "merchant_categories": str, "merchant_ids": int, "tiers": str}
COUNT_RULES = ("min_amount", "new_customer_days", "max_per_customer", "max_per_customer_per_day")
RULES = (*LIST_RULES, *COUNT_RULES)


@dataclass(frozen=True)
class CampaignTerms:
    """What the checks need of a campaign (the service's view carries more)."""

    code: str
    status: str
    starts_at: datetime
    ends_at: datetime
    percent: int | None
    flat_amount: int | None
    max_cashback: int | None
    rules: dict[str, Any]
    budget: int | None
    granted_total: int

    def cashback_for(self, amount: int) -> int:
        """The reward for a payment of `amount`: a percentage (rounded down) up to the cap, or the flat
        amount; never more than the payment itself."""
        reward = amount * self.percent // 100 if self.percent is not None else int(self.flat_amount or 0)
        if self.max_cashback is not None:
            reward = min(reward, self.max_cashback)
        return max(0, min(reward, amount))


@dataclass(frozen=True)
class PaymentFacts:
    reference: str
    customer_id: int
    amount: int
    status: str
    refunded_amount: int
    at: datetime
    channel: str | None
    merchant_id: int | None
    merchant_name: str | None
    merchant_category: str | None
    tier: str
    customer_since: datetime


@dataclass(frozen=True)
class Usage:
    """This customer's rewards from the campaign so far, not counting the payment being checked."""

    total: int = 0
    on_day: int = 0


@dataclass(frozen=True)
class Check:
    rule: str
    passed: bool
    facts: dict[str, Any] = field(default_factory=dict)


def validate_rules(rules: Any) -> dict[str, Any]:
    """The rules in canonical form, or ValidationFailed naming the first bad one (nothing is stored)."""
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise ValidationFailed("rules must be an object", field="rules")
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ValidationFailed(f"unknown rule {unknown[0]!r} (known: {', '.join(RULES)})", field="rules")
    clean: dict[str, Any] = {}
    for name, value in rules.items():
        if name in LIST_RULES:
            kind = LIST_RULES[name]
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, kind) and not isinstance(v, bool) for v in value):
                raise ValidationFailed(f"rule {name} must be a non-empty list of {kind.__name__}", field=name)
            allowed = {"channels": CHANNELS, "tiers": TIERS}.get(name)
            if allowed and not set(value) <= set(allowed):
                raise ValidationFailed(f"rule {name} accepts only {', '.join(allowed)}", field=name)
            clean[name] = sorted(set(value))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValidationFailed(f"rule {name} must be a positive whole number", field=name)
            clean[name] = value
    return clean


def check(terms: CampaignTerms, payment: PaymentFacts, usage: Usage, tz: ZoneInfo) -> list[Check]:
    """Every rule of the campaign against the payment, in the order a person would explain them."""
    rules = terms.rules
    out = [
        Check("payment_status", payment.status == "succeeded" and payment.refunded_amount < payment.amount,
              {"status": payment.status, "refunded": payment.refunded_amount}),
        Check("campaign_status", terms.status == "active", {"status": terms.status}),
        Check("period", terms.starts_at <= payment.at < terms.ends_at,
              {"starts_at": terms.starts_at, "ends_at": terms.ends_at, "payment_at": payment.at}),
    ]
    if "channels" in rules:
        out.append(Check("channels", payment.channel in rules["channels"],
                         {"allowed": rules["channels"], "actual": payment.channel}))
    if "merchant_ids" in rules:
        out.append(Check("merchant_ids", payment.merchant_id in rules["merchant_ids"],
                         {"allowed": rules["merchant_ids"], "actual": payment.merchant_name}))
    if "merchant_categories" in rules:
        out.append(Check("merchant_categories", payment.merchant_category in rules["merchant_categories"],
                         {"allowed": rules["merchant_categories"], "actual": payment.merchant_category}))
    if "min_amount" in rules:
        out.append(Check("min_amount", payment.amount >= rules["min_amount"],
                         {"required": rules["min_amount"], "actual": payment.amount}))
    if "tiers" in rules:
        out.append(Check("tiers", payment.tier in rules["tiers"], {"allowed": rules["tiers"], "actual": payment.tier}))
    if "new_customer_days" in rules:
        age = (payment.at - payment.customer_since).days
        out.append(Check("new_customer_days", age <= rules["new_customer_days"],
                         {"days": rules["new_customer_days"], "age_days": age,
                          "registered_at": payment.customer_since}))
    if "max_per_customer" in rules:
        out.append(Check("max_per_customer", usage.total < rules["max_per_customer"],
                         {"limit": rules["max_per_customer"], "used": usage.total}))
    if "max_per_customer_per_day" in rules:
        out.append(Check("max_per_customer_per_day", usage.on_day < rules["max_per_customer_per_day"],
                         {"limit": rules["max_per_customer_per_day"], "used": usage.on_day,
                          "day": payment.at.astimezone(tz).date()}))
    if terms.budget is not None:
        needed = terms.cashback_for(payment.amount)
        out.append(Check("budget", terms.granted_total + needed <= terms.budget,
                         {"budget": terms.budget, "granted": terms.granted_total, "needed": needed}))
    return out


def customer_checks(terms: CampaignTerms, *, tier: str, customer_since: datetime, now: datetime,
                    usage: Usage) -> list[Check]:
    """The rules that depend on the customer alone: is the campaign open to them now at all?"""
    rules = terms.rules
    out = [Check("period", terms.starts_at <= now < terms.ends_at, {"ends_at": terms.ends_at})]
    if "tiers" in rules:
        out.append(Check("tiers", tier in rules["tiers"], {"allowed": rules["tiers"], "actual": tier}))
    if "new_customer_days" in rules:
        out.append(Check("new_customer_days", (now - customer_since).days <= rules["new_customer_days"],
                         {"days": rules["new_customer_days"]}))
    if "max_per_customer" in rules:
        out.append(Check("max_per_customer", usage.total < rules["max_per_customer"],
                         {"limit": rules["max_per_customer"], "used": usage.total}))
    if terms.budget is not None:
        out.append(Check("budget", terms.granted_total < terms.budget, {"budget": terms.budget}))
    return out
