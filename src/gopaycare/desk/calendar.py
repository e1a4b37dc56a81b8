"""Business-hours arithmetic: how far a business-time budget reaches, and how much was used.

A calendar is weekly opening hours in one time zone, minus holidays (local dates). Hours are
local wall-clock times; each opening span is turned into an exact UTC span through zoneinfo, so
a day on which the clocks change counts the hours that really pass (Asia/Jakarta has no daylight
saving, but a calendar may use a zone that does). `None` means around the clock (24x7).

Both functions are pure: aware datetimes in, UTC datetimes and whole seconds out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..platform.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Calendar:
    timezone: str
    # Per weekday (Monday first): opening spans as (start, end) minutes after local midnight.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def parse(cls, timezone: str, hours: object, holidays: object = ()) -> Calendar:
        """Check calendar input (as stored in `business_calendars`); ValidationFailed if wrong."""
        return cls(_check_timezone(timezone), _check_hours(hours), frozenset(_check_holidays(holidays)))

    def hours_json(self) -> dict[str, list[list[str]]]:
        return {WEEKDAYS[d]: [[_hhmm(lo), _hhmm(hi)] for lo, hi in spans]
                for d, spans in enumerate(self.week) if spans}

    def holidays_json(self) -> list[str]:
        return [d.isoformat() for d in sorted(self.holidays)]


def _check_timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationFailed("timezone must be an IANA time zone name", field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {value!r}", field="timezone") from None
    return value


def _minutes(value: object) -> int:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValidationFailed(f"times are HH:MM from 00:00 to 24:00, got {value!r}", field="hours")
    hh, mm = value.split(":")
    return int(hh) * 60 + int(mm)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _check_hours(hours: object) -> tuple[tuple[tuple[int, int], ...], ...]:
    if not isinstance(hours, dict):
        raise ValidationFailed("hours map weekdays (mon..sun) to [[start, end], ...]", field="hours")
    unknown = sorted(str(k) for k in hours if k not in WEEKDAYS)
    if unknown:
        raise ValidationFailed(f"unknown weekdays {', '.join(unknown)}; use {', '.join(WEEKDAYS)}",
                               field="hours")
    week: list[tuple[tuple[int, int], ...]] = []
    for day in WEEKDAYS:
        raw = hours.get(day) or []
        if not isinstance(raw, list):
            raise ValidationFailed(f"{day}: a list of [start, end] spans", field="hours")
        spans: list[tuple[int, int]] = []
        for span in raw:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise ValidationFailed(f"{day}: each span is [start, end]", field="hours")
            lo, hi = _minutes(span[0]), _minutes(span[1])
            if lo >= hi:
                raise ValidationFailed(f"{day}: {span[0]}-{span[1]} ends before it starts (split a night "
                                       "shift at midnight)", field="hours")
            spans.append((lo, hi))
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            if start < end:
                raise ValidationFailed(f"{day}: opening spans overlap", field="hours")
        week.append(tuple(spans))
    if not any(week):
        raise ValidationFailed("a calendar needs opening hours on at least one weekday", field="hours")
    return tuple(week)


def _check_holidays(holidays: object) -> Iterable[date]:
    if not isinstance(holidays, list | tuple):
        raise ValidationFailed("holidays are a list of ISO dates (YYYY-MM-DD)", field="holidays")
    days = []
    for value in holidays:
        try:
            if not isinstance(value, str) or not _ISO_DATE.match(value):
                raise ValueError
            days.append(date.fromisoformat(value))
        except ValueError:
            raise ValidationFailed(f"holiday {value!r} is not an ISO date (YYYY-MM-DD)", field="holidays") from None
    return days


# ---------------------------------------------------------------- arithmetic


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return value.astimezone(UTC)


def _local_midnight_plus(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    # Wall-clock time on that local day ("24:00" is the next midnight), then the real instant.
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _open_spans(calendar: Calendar, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    """UTC opening spans from the local day `first_day` on, in order, without end."""
    tz = calendar.tz
    day = first_day
    while True:
        if day not in calendar.holidays:
            for lo, hi in calendar.week[day.weekday()]:
                yield _local_midnight_plus(day, lo, tz), _local_midnight_plus(day, hi, tz)
        day += timedelta(days=1)


def _open_spans_back(calendar: Calendar, last_day: date) -> Iterator[tuple[datetime, datetime]]:
    """UTC opening spans from the local day `last_day` back, latest first, without end."""
    tz = calendar.tz
    day = last_day
    while True:
        if day not in calendar.holidays:
            for lo, hi in reversed(calendar.week[day.weekday()]):
                yield _local_midnight_plus(day, lo, tz), _local_midnight_plus(day, hi, tz)
        day -= timedelta(days=1)


def add_business_seconds(start: datetime, seconds: int, calendar: Calendar | None) -> datetime:
    """The instant at which `seconds` of business time have passed since `start` (UTC).

    A budget that runs out exactly at closing time ends at closing time, not at the next opening;
    zero is `start` itself. Negative seconds count back: the instant from which `-seconds` of
    business time lead up to `start` (used to place a due time that already passed)."""
    start = _utc(start)
    if seconds == 0:
        return start
    if calendar is None:
        return start + timedelta(seconds=seconds)
    local_day = start.astimezone(calendar.tz).date()
    left = timedelta(seconds=abs(seconds))
    if seconds > 0:
        for lo, hi in _open_spans(calendar, local_day - timedelta(days=1)):
            lo = max(lo, start)
            if hi <= lo:
                continue
            if left <= hi - lo:
                return lo + left
            left -= hi - lo
    else:
        for lo, hi in _open_spans_back(calendar, local_day + timedelta(days=1)):
            hi = min(hi, start)
            if hi <= lo:
                continue
            if left <= hi - lo:
                return hi - left
            left -= hi - lo
    raise AssertionError("unreachable: a valid calendar opens every week")


def is_open(at: datetime, calendar: Calendar | None) -> bool:
    """Whether `at` falls in the calendar's opening hours (a holiday is closed; None is always open)."""
    return business_seconds_between(at, _utc(at) + _SECOND, calendar) == 1


def next_opening(at: datetime, calendar: Calendar | None) -> datetime:
    """`at` itself (UTC) when the calendar is open then; otherwise the moment it opens next."""
    at = _utc(at)
    if calendar is None:
        return at
    for lo, hi in _open_spans(calendar, at.astimezone(calendar.tz).date() - timedelta(days=1)):
        if hi > at:
            return max(lo, at)
    raise AssertionError("unreachable: a valid calendar opens every week")


def business_seconds_between(a: datetime, b: datetime, calendar: Calendar | None) -> int:
    """Whole seconds of business time in [a, b); 0 when b is not after a."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return 0
    if calendar is None:
        return (b - a) // _SECOND
    total = timedelta()
    for lo, hi in _open_spans(calendar, a.astimezone(calendar.tz).date() - timedelta(days=1)):
        if lo >= b:
            break
        lo, hi = max(lo, a), min(hi, b)
        if hi > lo:
            total += hi - lo
    return total // _SECOND
