"""A campaign's terms and a failed rule in words, in zh-CN, en and id, with the numbers filled in.
The assistant says them to customers; the agent console and help center can show the same."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..platform.i18n import STATUS_AND_TIER_WORDS, format_rupiah, normalize_language, render, short_date
from .rules import CampaignTerms, Check

if TYPE_CHECKING:
    from .service import CampaignView

WORDS: dict[str, dict[str, str]] = {
    **STATUS_AND_TIER_WORDS,
    "food": {"zh-CN": "餐饮", "en": "food", "id": "makanan"},
    "ride": {"zh-CN": "出行", "en": "ride", "id": "transportasi"},
    "shopping": {"zh-CN": "购物", "en": "shopping", "id": "belanja"},
    "pulsa": {"zh-CN": "话费", "en": "phone credit", "id": "pulsa"},
    "bills": {"zh-CN": "账单", "en": "bills", "id": "tagihan"},
    "ecommerce": {"zh-CN": "电商", "en": "online shopping", "id": "belanja online"},
    "qr": {"zh-CN": "QRIS扫码", "en": "QRIS", "id": "QRIS"},
    "online": {"zh-CN": "线上", "en": "online", "id": "online"},
    "paused": {"zh-CN": "已暂停", "en": "paused", "id": "dihentikan sementara"},
    "ended": {"zh-CN": "已结束", "en": "ended", "id": "sudah berakhir"},
}
SEPARATOR = {"zh-CN": "、", "en": ", ", "id": ", "}

T: dict[str, dict[str, str]] = {
    "reward_percent": {"zh-CN": "返现{percent}%", "en": "{percent}% cashback", "id": "cashback {percent}%"},
    "reward_cap": {"zh-CN": "，最高{cap}", "en": " up to {cap}", "id": " maks. {cap}"},
    "reward_flat": {"zh-CN": "返现{amount}", "en": "{amount} cashback", "id": "cashback {amount}"},
    "term_merchant_categories": {"zh-CN": "限{values}商户", "en": "at {values} merchants",
                                 "id": "di merchant {values}"},
    "term_merchant_ids": {"zh-CN": "限指定商户", "en": "at selected merchants", "id": "di merchant tertentu"},
    "term_channels": {"zh-CN": "{values}付款", "en": "paid by {values}", "id": "bayar pakai {values}"},
    "term_min_amount": {"zh-CN": "单笔满{amount}", "en": "from {amount} per payment",
                        "id": "min. transaksi {amount}"},
    "term_tiers": {"zh-CN": "限{values}用户", "en": "for {values} users", "id": "khusus pengguna {values}"},
    "term_new_customer_days": {"zh-CN": "限注册{days}天内的新用户", "en": "for customers in their first {days} days",
                               "id": "khusus pengguna baru ({days} hari pertama)"},
    "term_max_per_customer": {"zh-CN": "每人限{limit}次", "en": "{limit} times per customer",
                              "id": "maks. {limit}x per pengguna"},
    "term_max_per_customer_per_day": {"zh-CN": "每天限{limit}次",
                                      "en": "{limit} per day", "id": "maks. {limit}x sehari"},
    "term_until": {"zh-CN": "活动截至{end}", "en": "until {end}", "id": "berlaku s.d. {end}"},
    "term_credit_delay": {"zh-CN": "返现在付款后{hours}小时内到账", "en": "credited within {hours} h of the payment",
                          "id": "cashback masuk dalam {hours} jam setelah transaksi"},
    "terms": {"zh-CN": "{title}（{code}）：{reward}；{conditions}。", "en": "{title} ({code}): {reward}; {conditions}.",
              "id": "{title} ({code}): {reward}; {conditions}."},
    # ------------------------------------------------------------ a failed rule, with its numbers
    "why_payment_status": {"zh-CN": "这笔付款{status}，不参加活动", "en": "the payment {status}, so it does not count",
                           "id": "transaksinya {status}, jadi tidak dihitung"},
    "why_payment_refunded": {"zh-CN": "这笔付款已全额退款，返现随之取消",
                             "en": "the payment was refunded in full, so no cashback",
                             "id": "transaksinya sudah di-refund penuh, jadi tidak ada cashback"},
    "why_campaign_status": {"zh-CN": "活动{status}", "en": "the campaign is {status}", "id": "promonya {status}"},
    "why_period_before": {"zh-CN": "活动{start}才开始，您的付款在{at}", "en": "it started {start}; you paid {at}",
                          "id": "promo baru mulai {start}, transaksi Anda {at}"},
    "why_period_after": {"zh-CN": "活动已于{end}结束，您的付款在{at}", "en": "it ended {end}; you paid {at}",
                         "id": "promo sudah berakhir {end}, transaksi Anda {at}"},
    "why_channels": {"zh-CN": "只限{allowed}付款，这笔是{actual}付款",
                     "en": "only for {allowed} payments; this one was {actual}",
                     "id": "hanya untuk pembayaran {allowed}, transaksi ini {actual}"},
    "why_merchant_ids": {"zh-CN": "只限指定商户，{actual}不在其中",
                         "en": "only at selected merchants; {actual} is not one of them",
                         "id": "hanya di merchant tertentu, {actual} tidak termasuk"},
    "why_merchant_categories": {"zh-CN": "只限{allowed}商户，这笔是{actual}商户",
                                "en": "only at {allowed} merchants; this one is {actual}",
                                "id": "hanya di merchant {allowed}, merchant ini {actual}"},
    "why_min_amount": {"zh-CN": "单笔最低{required}，您的付款是{actual}",
                       "en": "the minimum is {required}; you paid {actual}",
                       "id": "minimal transaksi {required}, transaksi Anda {actual}"},
    "why_tiers": {"zh-CN": "只限{allowed}用户，您的账户是{actual}",
                  "en": "only for {allowed} users; your account is {actual}",
                  "id": "khusus pengguna {allowed}, akun Anda {actual}"},
    "why_new_customer_days": {"zh-CN": "只限注册{days}天内的新用户，付款时您已注册{age}天",
                              "en": "only in a customer's first {days} days; you had been with us {age} days",
                              "id": "khusus {days} hari pertama, saat transaksi akun Anda sudah {age} hari"},
    "why_max_per_customer": {"zh-CN": "每人限{limit}次，您已用了{used}次",
                             "en": "{limit} per customer and you had used {used}",
                             "id": "maks. {limit}x per pengguna dan sudah terpakai {used}x"},
    "why_max_per_customer_per_day": {"zh-CN": "每天限{limit}次，您{day}已用了{used}次",
                                     "en": "{limit} per day and you had used {used} on {day}",
                                     "id": "maks. {limit}x sehari dan pada {day} sudah terpakai {used}x"},
    "why_budget": {"zh-CN": "活动名额已用完",
                   "en": "the campaign's budget had run out", "id": "kuota promo sudah habis"},
}


def word(key: Any, lang: str) -> str:
    entry = WORDS.get(str(key))
    return entry.get(normalize_language(lang), entry["en"]) if entry else str(key)


def words(values: list[Any], lang: str) -> str:
    return SEPARATOR[normalize_language(lang)].join(word(v, lang) for v in values)


def day(at: datetime | date, lang: str, tz: ZoneInfo | None = None, *, year: bool = True) -> str:
    local = at.astimezone(tz).date() if isinstance(at, datetime) else at
    return short_date(local, lang, year=year)


def reward(terms: CampaignTerms, lang: str) -> str:
    if terms.percent is None:
        return render(T, "reward_flat", lang, amount=format_rupiah(terms.flat_amount or 0))
    text = render(T, "reward_percent", lang, percent=terms.percent)
    if terms.max_cashback is not None:
        text += render(T, "reward_cap", lang, cap=format_rupiah(terms.max_cashback))
    return text


def describe(terms: CampaignView, lang: str, tz: ZoneInfo) -> str:
    """'Jajan hemat (JAJAN10): 10% cashback up to Rp10.000; at food merchants, ..., until 31 Dec 2026.'"""
    conditions = []
    for rule, value in terms.rules.items():
        if rule in ("merchant_categories", "channels", "tiers"):
            conditions.append(render(T, f"term_{rule}", lang, values=words(value, lang)))
        elif rule == "min_amount":
            conditions.append(render(T, "term_min_amount", lang, amount=format_rupiah(value)))
        elif rule == "new_customer_days":
            conditions.append(render(T, "term_new_customer_days", lang, days=value))
        elif rule in ("max_per_customer", "max_per_customer_per_day"):
            conditions.append(render(T, f"term_{rule}", lang, limit=value))
        else:
            conditions.append(render(T, f"term_{rule}", lang))
    if terms.credit_delay_hours:
        conditions.append(render(T, "term_credit_delay", lang, hours=terms.credit_delay_hours))
    conditions.append(render(T, "term_until", lang, end=day(terms.ends_at, lang, tz)))
    return render(T, "terms", lang, title=terms.title(lang), code=terms.code, reward=reward(terms, lang),
                  conditions=SEPARATOR[normalize_language(lang)].join(conditions))


def why(failed: Check, lang: str, tz: ZoneInfo) -> str:
    """One failed rule in words, with its numbers."""
    f = failed.facts
    if failed.rule == "payment_status":
        if f.get("status") == "succeeded":
            return render(T, "why_payment_refunded", lang)
        return render(T, "why_payment_status", lang, status=word(f.get("status"), lang))
    if failed.rule == "campaign_status":
        return render(T, "why_campaign_status", lang, status=word(f.get("status"), lang))
    if failed.rule == "period":
        key = "why_period_before" if f["payment_at"] < f["starts_at"] else "why_period_after"
        return render(T, key, lang, start=day(f["starts_at"], lang, tz), end=day(f["ends_at"], lang, tz),
                      at=day(f["payment_at"], lang, tz))
    if failed.rule in ("channels", "merchant_categories", "tiers"):
        return render(T, f"why_{failed.rule}", lang, allowed=words(f["allowed"], lang), actual=word(f["actual"], lang))
    if failed.rule == "merchant_ids":
        return render(T, "why_merchant_ids", lang, actual=f.get("actual") or "-")
    if failed.rule == "min_amount":
        return render(T, "why_min_amount", lang, required=format_rupiah(f["required"]),
                      actual=format_rupiah(f["actual"]))
    if failed.rule == "new_customer_days":
        return render(T, "why_new_customer_days", lang, days=f["days"], age=f["age_days"])
    if failed.rule == "max_per_customer":
        return render(T, "why_max_per_customer", lang, limit=f["limit"], used=f["used"])
    if failed.rule == "max_per_customer_per_day":
        return render(T, "why_max_per_customer_per_day", lang, limit=f["limit"], used=f["used"],
                      day=day(f["day"], lang, year=False))
    return render(T, "why_budget", lang)
