"""Everything the assistant says, in zh-CN (default), en and id. The sentences are in the message
catalogs (context "assistant", gopaycare/locale/); amounts and times are filled in from real account
state by the flows; nothing there is a canned answer about a customer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..platform import catalog
from ..platform.i18n import format_rupiah, short_date


def say(key: str, lang: str, **values: object) -> str:
    return catalog.text("assistant", key, lang, **values)


def word(key: str, lang: str) -> str:
    """A status, tier, transaction kind... in words; an unknown one as it is."""
    found = catalog.lookup("assistant.word", key, lang)
    if found is None:
        found = catalog.lookup("word", key, lang)
    return key if found is None else found


def money(amount: int) -> str:
    return format_rupiah(amount)


def when(at: datetime, now: datetime, lang: str, tz: ZoneInfo) -> str:
    """'today 14:05' / '昨天 14:05' / '21 Nov 14:05' in the local time zone."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"{word('today', lang)} {clock}" if lang != "zh-CN" else f"今天{clock}"
    if (today - local.date()).days == 1:
        return f"{word('yesterday', lang)} {clock}" if lang != "zh-CN" else f"昨天{clock}"
    if lang == "zh-CN":
        return f"{local.month}月{local.day}日{clock}"
    return f"{short_date(local.date(), lang)} {clock}"


def reset_time(at: datetime, lang: str, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    name = tz.key.split("/")[-1]
    zone = "WIB" if name == "Jakarta" else name
    if lang == "zh-CN":
        return f"{local.month}月{local.day}日 {local:%H:%M} ({zone})"
    return f"{short_date(local.date(), lang)} {local:%H:%M} {zone}"
