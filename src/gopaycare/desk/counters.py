"""What the desk's rows add to the daily counters the dashboard reads (platform/rollup.py, ADR 0026).

Each row counts on the report day it began (a ticket's creation, a conversation's start, the day
the survey was asked), under its channel and its ticket's *current* service area: a ticket moved to
another area moves its counters, its conversations' and its survey's with it. Times (first
response, resolution) are summed in seconds beside their count, so an average over any range is a
sum of a few rows. A ticket reopened loses its resolution until it is solved again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import rollup
from ..platform.rollup import Key, Values, report_day
from .models import Conversation, CsatSurvey, Ticket

TICKET_METRICS = ("tickets", "first_response.n", "first_response.seconds", "resolved.n", "resolved.seconds",
                  "sla.met", "sla.breached", "bot_handled")
CONVERSATION_METRICS = ("conversations", "contained", "handed_over")
CSAT_METRICS = ("csat.asked", "csat.answered", "csat.rating_sum", "csat.satisfied")
METRICS = TICKET_METRICS + CONVERSATION_METRICS + CSAT_METRICS


def _seconds(start: Any, end: Any) -> int:
    return max(0, int((end - start).total_seconds()))


def ticket_counts(_: Session, v: Values, before: bool) -> Iterable[tuple[Key, int]]:
    day, channel, area = report_day(v["created_at"]), v["channel"], v["area"]
    yield (day, channel, area, "tickets"), 1
    if v["first_response_at"] is not None:
        yield (day, channel, area, "first_response.n"), 1
        yield (day, channel, area, "first_response.seconds"), _seconds(v["created_at"], v["first_response_at"])
    if v["solved_at"] is not None:
        yield (day, channel, area, "resolved.n"), 1
        yield (day, channel, area, "resolved.seconds"), _seconds(v["created_at"], v["solved_at"])
    if v["sla_state"] in ("met", "breached"):
        yield (day, channel, area, f"sla.{v['sla_state']}"), 1
    if v["handled_by_bot"]:
        yield (day, channel, area, "bot_handled"), 1


def _area_of(s: Session, v: Values, before: bool) -> str:
    if "area" in v:  # the recount joins it
        return str(v["area"] or "general")
    ticket_id = v["ticket_id"]
    if ticket_id is None:
        return "general"
    if before:
        old = rollup.before_values(s, Ticket, (ticket_id,))
        if old is not None:
            return str(old["area"])
    ticket = s.get(Ticket, ticket_id)
    return ticket.area if ticket is not None else "general"


def conversation_counts(s: Session, v: Values, before: bool) -> Iterable[tuple[Key, int]]:
    key = (report_day(v["created_at"]), v["channel"], _area_of(s, v, before))
    yield (*key, "conversations"), 1
    if v["contained"] is True:
        yield (*key, "contained"), 1
    elif v["contained"] is False:
        yield (*key, "handed_over"), 1


def csat_counts(s: Session, v: Values, before: bool) -> Iterable[tuple[Key, int]]:
    key = (report_day(v["asked_at"]), v["channel"], _area_of(s, v, before))
    yield (*key, "csat.asked"), 1
    if v["rating"] is not None:
        yield (*key, "csat.answered"), 1
        yield (*key, "csat.rating_sum"), int(v["rating"])
        if v["rating"] >= 4:
            yield (*key, "csat.satisfied"), 1


def _ticket_related(s: Session, ticket: Ticket, old: Values, new: Values) -> Iterable[tuple[type[Any], list[int]]]:
    if old["area"] == new["area"]:
        return
    yield Conversation, list(s.scalars(select(Conversation.id).where(Conversation.ticket_id == ticket.id)))
    yield CsatSurvey, list(s.scalars(select(CsatSurvey.id).where(CsatSurvey.ticket_id == ticket.id)))


def _with_area(model: type[Any], fields: tuple[str, ...]) -> Any:
    return (select(*(getattr(model, f) for f in fields), Ticket.area.label("area"))
            .outerjoin(Ticket, Ticket.id == model.ticket_id))


CONVERSATION_FIELDS = ("created_at", "channel", "ticket_id", "contained")
CSAT_FIELDS = ("asked_at", "channel", "ticket_id", "rating")
ROLLUPS = (
    rollup.Rollup(Ticket, ("created_at", "channel", "area", "first_response_at", "solved_at", "sla_state",
                           "handled_by_bot"), ticket_counts, _ticket_related),
    rollup.Rollup(Conversation, CONVERSATION_FIELDS, conversation_counts,
                  recount_select=lambda: _with_area(Conversation, CONVERSATION_FIELDS)),
    rollup.Rollup(CsatSurvey, CSAT_FIELDS, csat_counts, recount_select=lambda: _with_area(CsatSurvey, CSAT_FIELDS)),
)
MODELS = tuple(r.model for r in ROLLUPS)

for _rollup in ROLLUPS:
    rollup.register(_rollup)


# ---------------------------------------------------------------- the assistant's turns
# A turn is no row of its own (the assistant keeps one memory row per conversation, rewritten each
# turn): its counters are events, added in the unit of work that stores the turn (`rollup.add`),
# and a recount (`rollup.rebuild`) leaves them as they are: there is nothing to count them from.

TURNS = "assistant.turns"
INTENT_PREFIX = "intent."
FALLBACK_PREFIX = "fallback."
# Why the assistant fell back: no confident intent (it answered with an article or "say it again",
# or handed over after the third), out of scope (a loan, the weather), a "did you mean A or B?",
# or a flow that failed (an apology).
FALLBACKS = ("unsure", "out_of_scope", "clarify", "error")
TURN_METRICS = (TURNS, *(FALLBACK_PREFIX + kind for kind in FALLBACKS))


def count_turn(s: Session, conversation: Conversation, *, intent: str | None, fallback: str | None,
               now: Any) -> None:
    """One turn of the assistant on this conversation's channel, today: the intent it acted on
    (None: it acted on none, a cancel), or why it fell back. Not split by service area (`-`)."""
    key = (report_day(now), conversation.channel, rollup.ANY)
    rollup.add(s, (*key, TURNS), 1)
    if fallback is not None:
        rollup.add(s, (*key, FALLBACK_PREFIX + (fallback if fallback in FALLBACKS else "unsure")), 1)
    elif intent:
        rollup.add(s, (*key, (INTENT_PREFIX + intent)[:40]), 1)
