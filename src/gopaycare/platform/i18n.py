"""User-facing text in zh-CN (the default), en and id.

Each domain keeps its own catalog (a dict of key -> {language: template}) and calls `render`.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def render(catalog: Mapping[str, Mapping[str, str]], key: str, lang: str | None, **values: object) -> str:
    templates = catalog[key]
    return templates.get(normalize_language(lang), templates[DEFAULT_LANGUAGE]).format(**values)


def format_rupiah(amount: int) -> str:
    """2000000 -> 'Rp2.000.000' (Indonesian grouping, no decimals)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")
