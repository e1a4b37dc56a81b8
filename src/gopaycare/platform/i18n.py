"""The three languages (zh-CN is the default) and the formats of money and dates in them.

The sentences themselves are in the message catalogs (platform/catalog.py).
"""

from __future__ import annotations

from datetime import date

LANGUAGES = ("zh-CN", "en", "id")
DEFAULT_LANGUAGE = "zh-CN"


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
