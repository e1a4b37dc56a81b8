"""A campaign's terms and a failed rule in words, in zh-CN, en and id, with the numbers filled in.
The assistant says them to customers; the agent console and help center can show the same. The
sentences are in the message catalogs (contexts "promotions" and "promotions.word", gopaycare/locale/)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..platform import catalog
from ..platform.i18n import format_rupiah, short_date
from .rules import CampaignTerms, Check

if TYPE_CHECKING:
    from .service import CampaignView


def say(key: str, lang: str, **values: object) -> str:
    return catalog.text("promotions", key, lang, **values)


def word(key: Any, lang: str) -> str:
    """A category, channel, status or tier in words; an unknown one as it is."""
    found = catalog.lookup("promotions.word", str(key), lang)
    if found is None:
        found = catalog.lookup("word", str(key), lang)
    return str(key) if found is None else found


def words(values: list[Any], lang: str) -> str:
    return say("list_separator", lang).join(word(v, lang) for v in values)


def day(at: datetime | date, lang: str, tz: ZoneInfo | None = None, *, year: bool = True) -> str:
    local = at.astimezone(tz).date() if isinstance(at, datetime) else at
    return short_date(local, lang, year=year)


def reward(terms: CampaignTerms, lang: str) -> str:
    if terms.percent is None:
        return say("reward_flat", lang, amount=format_rupiah(terms.flat_amount or 0))
    text = say("reward_percent", lang, percent=terms.percent)
    if terms.max_cashback is not None:
        text += say("reward_cap", lang, cap=format_rupiah(terms.max_cashback))
    return text


def describe(terms: CampaignView, lang: str, tz: ZoneInfo) -> str:
    """'Jajan hemat (JAJAN10): 10% cashback up to Rp10.000; at food merchants, ..., until 31 Dec 2026.'"""
    conditions = []
    for rule, value in terms.rules.items():
        if rule in ("merchant_categories", "channels", "tiers"):
            conditions.append(say(f"term_{rule}", lang, values=words(value, lang)))
        elif rule == "min_amount":
            conditions.append(say("term_min_amount", lang, amount=format_rupiah(value)))
        elif rule == "new_customer_days":
            conditions.append(say("term_new_customer_days", lang, days=value))
        elif rule in ("max_per_customer", "max_per_customer_per_day"):
            conditions.append(say(f"term_{rule}", lang, limit=value))
        else:
            conditions.append(say(f"term_{rule}", lang))
    if terms.credit_delay_hours:
        conditions.append(say("term_credit_delay", lang, hours=terms.credit_delay_hours))
    conditions.append(say("term_until", lang, end=day(terms.ends_at, lang, tz)))
    return say("terms", lang, title=terms.title(lang), code=terms.code, reward=reward(terms, lang),
               conditions=say("list_separator", lang).join(conditions))


def why(failed: Check, lang: str, tz: ZoneInfo) -> str:
    """One failed rule in words, with its numbers."""
    f = failed.facts
    if failed.rule == "payment_status":
        if f.get("status") == "succeeded":
            return say("why_payment_refunded", lang)
        return say("why_payment_status", lang, status=word(f.get("status"), lang))
    if failed.rule == "campaign_status":
        return say("why_campaign_status", lang, status=word(f.get("status"), lang))
    if failed.rule == "period":
        key = "why_period_before" if f["payment_at"] < f["starts_at"] else "why_period_after"
        return say(key, lang, start=day(f["starts_at"], lang, tz), end=day(f["ends_at"], lang, tz),
                   at=day(f["payment_at"], lang, tz))
    if failed.rule in ("channels", "merchant_categories", "tiers"):
        return say(f"why_{failed.rule}", lang, allowed=words(f["allowed"], lang), actual=word(f["actual"], lang))
    if failed.rule == "merchant_ids":
        return say("why_merchant_ids", lang, actual=f.get("actual") or "-")
    if failed.rule == "min_amount":
        return say("why_min_amount", lang, required=format_rupiah(f["required"]),
                   actual=format_rupiah(f["actual"]))
    if failed.rule == "new_customer_days":
        return say("why_new_customer_days", lang, days=f["days"], age=f["age_days"])
    if failed.rule == "max_per_customer":
        return say("why_max_per_customer", lang, limit=f["limit"], used=f["used"])
    if failed.rule == "max_per_customer_per_day":
        return say("why_max_per_customer_per_day", lang, limit=f["limit"], used=f["used"],
                   day=day(f["day"], lang, year=False))
    return say("why_budget", lang)
