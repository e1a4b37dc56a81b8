"""The supervisor's reports, read from the daily counters (desk/counters.py), never from a scan of
the tickets: a range of days is at most days x channels x areas x metrics small rows (ADR 0026).

Containment leaves out conversations still going: undecided ones that started today. An undecided
conversation from an earlier day counts as abandoned (the scan report of desk/containment.py looks
at each one's last message instead; at a million conversations that is the slow part).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from ..platform import rollup
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import ValidationFailed
from ..platform.rollup import DailyCount, report_day
from .counters import FALLBACK_PREFIX, FALLBACKS, INTENT_PREFIX, TURNS

MAX_DAYS = 366
TOP_INTENTS = 10  # the intents a report lists, most turns first
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)
# The per-day series the charts draw (the others are summed over the range only).
DAILY = ("tickets", "resolved.n", "conversations", "contained", "handed_over", "refunds.requested",
         "refunds.refunded_amount")

Counts = Mapping[str, int]


def _ratio(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def figures(c: Counts, active: int = 0) -> dict[str, float | int | None]:
    """What a supervisor reads off a set of summed counters."""
    undecided = max(0, c.get("conversations", 0) - c.get("contained", 0) - c.get("handed_over", 0))
    abandoned = max(0, undecided - active)
    ended = c.get("contained", 0) + c.get("handed_over", 0) + abandoned
    frt, res = c.get("first_response.n", 0), c.get("resolved.n", 0)
    answered = c.get("csat.answered", 0)
    sla_closed = c.get("sla.met", 0) + c.get("sla.breached", 0)
    return {
        "tickets": c.get("tickets", 0),
        "first_response_minutes": round(c.get("first_response.seconds", 0) / frt / 60, 1) if frt else None,
        "resolved": res,
        "resolution_hours": round(c.get("resolved.seconds", 0) / res / 3600, 2) if res else None,
        "sla_met": c.get("sla.met", 0), "sla_breached": c.get("sla.breached", 0),
        "sla_attainment": _ratio(c.get("sla.met", 0), sla_closed),
        "conversations": c.get("conversations", 0), "contained": c.get("contained", 0),
        "handed_over": c.get("handed_over", 0), "abandoned": abandoned, "active": min(active, undecided),
        "containment": _ratio(c.get("contained", 0), ended),
        "csat_asked": c.get("csat.asked", 0), "csat_answered": answered,
        "csat_average": round(c.get("csat.rating_sum", 0) / answered, 2) if answered else None,
        "csat_satisfied": _ratio(c.get("csat.satisfied", 0), answered),
        "refunds_requested": c.get("refunds.requested", 0),
        "refunds_requested_amount": c.get("refunds.requested_amount", 0),
        "refunds_refunded": c.get("refunds.refunded", 0),
        "refunds_refunded_amount": c.get("refunds.refunded_amount", 0),
        "refunds_rejected": c.get("refunds.rejected", 0),
    }


def assistant_figures(c: Counts, top: int = TOP_INTENTS) -> dict[str, Any]:
    """The assistant's turns (desk/counters.py `count_turn`): how many, how many fell back and why,
    and the intents it acted on most (`intents`: [intent, turns] pairs, most first, then by name)."""
    turns = c.get(TURNS, 0)
    by_kind = {kind: c.get(FALLBACK_PREFIX + kind, 0) for kind in FALLBACKS}
    fallbacks = sum(by_kind.values())
    intents = sorted(((m[len(INTENT_PREFIX):], n) for m, n in c.items() if m.startswith(INTENT_PREFIX) and n > 0),
                     key=lambda pair: (-pair[1], pair[0]))
    return {"turns": turns, "fallbacks": fallbacks, "fallback_rate": _ratio(fallbacks, turns),
            "fallback_by_kind": by_kind, "intents": [[name, n] for name, n in intents[:top]]}


@dataclass(frozen=True)
class Report:
    since: date
    until: date  # the last day, included
    total: dict[str, float | int | None]
    by_channel: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    by_area: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    # The assistant's turns: `total` and per channel (`assistant_figures`), channels without a turn left out.
    assistant: dict[str, Any] = field(default_factory=dict)
    assistant_by_channel: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "total": self.total,
                "by_channel": self.by_channel, "by_area": self.by_area, "by_day": self.by_day,
                "assistant": self.assistant, "assistant_by_channel": self.assistant_by_channel}

    def rows(self) -> list[tuple[str, str, str, object]]:
        """(section, group, figure, value): the report flat, for the CSV export."""
        out: list[tuple[str, str, str, object]] = [("total", "", k, v) for k, v in self.total.items()]
        for section, groups in (("channel", self.by_channel), ("area", self.by_area)):
            out += [(section, g, k, v) for g, values in groups.items() for k, v in values.items()]
        out += [("day", d, k, v) for d, values in self.by_day.items() for k, v in values.items()]
        for group, a in (("", self.assistant), *self.assistant_by_channel.items()):
            if not a:
                continue
            out += [("assistant", group, k, a[k]) for k in ("turns", "fallbacks", "fallback_rate")]
            out += [("assistant", group, f"fallback_{k}", v) for k, v in a["fallback_by_kind"].items()]
            out += [("intent" if not group else f"intent:{group}", name, "turns", n) for name, n in a["intents"]]
        return out


def check_range(since: date, until: date) -> None:
    for name, value in (("since", since), ("until", until)):
        if not isinstance(value, date) or not EARLIEST <= value < LATEST:
            raise ValidationFailed(f"{name} is a day between {EARLIEST} and {LATEST}", field=name)
    if until < since:
        raise ValidationFailed("until is on or after since", field="until")
    if (until - since).days >= MAX_DAYS:
        raise ValidationFailed(f"a report covers at most {MAX_DAYS} days", field="until")


class Reports:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def report(self, since: date, until: date, *, top: int = TOP_INTENTS) -> Report:
        """The days since..until (report days, UTC+7), both included, as they stand now; the `top`
        intents the assistant acted on most (1-100)."""
        check_range(since, until)
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 100:
            raise ValidationFailed("top is a number from 1 to 100", field="top")
        window = (DailyCount.day >= since, DailyCount.day <= until)
        by_group: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        by_day: dict[str, dict[str, int]] = defaultdict(dict)
        with self.db.read() as s:
            for channel, area, metric, value in s.execute(
                    select(DailyCount.channel, DailyCount.area, DailyCount.metric, func.sum(DailyCount.value))
                    .where(*window).group_by(DailyCount.channel, DailyCount.area, DailyCount.metric)):
                by_group[(channel, area)][metric] = int(value or 0)
            for day, metric, value in s.execute(
                    select(DailyCount.day, DailyCount.metric, func.sum(DailyCount.value))
                    .where(*window, DailyCount.metric.in_(DAILY)).group_by(DailyCount.day, DailyCount.metric)):
                by_day[day.isoformat()][metric] = int(value or 0)
            active = self._active(s, since, until)
        total: dict[str, int] = defaultdict(int)
        channels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        areas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        active_channel: dict[str, int] = defaultdict(int)
        active_area: dict[str, int] = defaultdict(int)
        for (channel, area), n in active.items():
            active_channel[channel] += n
            active_area[area] += n
        for (channel, area), counts in by_group.items():
            for metric, value in counts.items():
                total[metric] += value
                if channel != "-":
                    channels[channel][metric] += value
                if area != "-":
                    areas[area][metric] += value
        days = {d: by_day.get(d, {}) for d in _days(since, until)}
        return Report(since, until, figures(total, sum(active.values())),
                      {c: figures(v, active_channel[c]) for c, v in sorted(channels.items())},
                      {a: figures(v, active_area[a]) for a, v in sorted(areas.items())},
                      {d: {m: v.get(m, 0) for m in DAILY} for d, v in days.items()},
                      assistant_figures(total, top),
                      {c: assistant_figures(v, top) for c, v in sorted(channels.items()) if v.get(TURNS)})

    def recount(self) -> int:
        """Every counter again from the rows (a scan: after a bulk load, an upgrade or a repair)."""
        with self.db.transaction() as s:
            return rollup.rebuild(s)

    def _active(self, s: Any, since: date, until: date) -> dict[tuple[str, str], int]:
        """Undecided conversations that started today (when the range reaches today): still going.
        Older undecided ones were left by the customer (abandoned). A day's granularity, from the
        counters: asking each conversation for its last message would be a scan of the busy day."""
        today_ = report_day(self.clock.now())
        if not since <= today_ <= until:
            return {}
        counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for channel, area, metric, value in s.execute(
                select(DailyCount.channel, DailyCount.area, DailyCount.metric, DailyCount.value)
                .where(DailyCount.day == today_, DailyCount.metric.in_(("conversations", "contained", "handed_over")))):
            counts[(channel, area)][metric] = int(value)
        return {key: max(0, c.get("conversations", 0) - c.get("contained", 0) - c.get("handed_over", 0))
                for key, c in counts.items()}


def _days(since: date, until: date) -> list[str]:
    return [(since + timedelta(days=i)).isoformat() for i in range((until - since).days + 1)]


def parse_day(value: str | None, name: str, default: date) -> date:
    """A YYYY-MM-DD from a query string; anything else is a 422, never a 500."""
    if value is None or value == "":
        return default
    if not isinstance(value, str) or len(value) != 10 or not value.replace("-", "").isdecimal():
        raise ValidationFailed(f"{name} is a day written YYYY-MM-DD", field=name)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{name} is a day written YYYY-MM-DD", field=name) from None
    if not EARLIEST <= day < LATEST:
        raise ValidationFailed(f"{name} is a day between {EARLIEST} and {LATEST}", field=name)
    return day


def today(clock: Clock) -> date:
    return report_day(clock.now())
