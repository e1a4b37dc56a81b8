"""User-facing text in zh-CN (the default), en and id.

Each domain keeps its own catalog (a dict of key -> {language: template}) and calls `render`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

LANGUAGES = ("zh-CN", "en", "id")
DEFAULT_LANGUAGE = "zh-CN"

# Words several catalogs need: transaction statuses and wallet tiers.
STATUS_AND_TIER_WORDS: dict[str, dict[str, str]] = {
    "succeeded": {"zh-CN": "成功", "en": "succeeded", "id": "berhasil"},
    "failed": {"zh-CN": "失败", "en": "failed", "id": "gagal"},
    "pending": {"zh-CN": "处理中", "en": "pending", "id": "diproses"},
    "reversed": {"zh-CN": "已退回", "en": "reversed", "id": "dikembalikan"},
    "basic": {"zh-CN": "GoPay基础版", "en": "GoPay basic", "id": "GoPay basic"},
    "plus": {"zh-CN": "GoPay Plus", "en": "GoPay Plus", "id": "GoPay Plus"},
}


def normalize_language(lang: str | None) -> str:
    if not lang:
        return DEFAULT_LANGUAGE
    lang = lang.strip().replace("_", "-").lower()
    if lang.startswith("zh"):
        return "zh-CN"
    if lang.startswith("id") or lang.startswith("in"):
        return "id"
    if lang.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def render(catalog: Mapping[str, Mapping[str, str]], key: str, lang: str | None, **values: object) -> str:
    templates = catalog[key]
    return templates.get(normalize_language(lang), templates[DEFAULT_LANGUAGE]).format(**values)


def format_rupiah(amount: int) -> str:
    """2000000 -> 'Rp2.000.000' (Indonesian grouping, no decimals)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
          "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")}


def short_date(day: date, lang: str | None, *, year: bool = False) -> str:
    """'25 Dec' / '25 Des' / '12月25日' (with the year when asked), independent of the process locale."""
    lang = normalize_language(lang)
    if lang == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    text = f"{day.day} {MONTHS[lang][day.month - 1]}"
    return f"{text} {day.year}" if year else text
