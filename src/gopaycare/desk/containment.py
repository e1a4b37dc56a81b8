"""Containment: how many conversations the assistant finished without a person.

`contained` is set True when the assistant resolved the customer's question (even if it then
offered more) and False when it was handed to a person (a later handoff turns a True into False).
A conversation with neither that has been quiet for a day was abandoned: the customer gave up.
Abandonment is not counted as containment (the usual flaw of bot metrics), so the rate is
contained / (contained + handed over + abandoned); conversations still active are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, select

from ..platform.db import Database
from ..platform.errors import ValidationFailed
from .models import Conversation, Ticket

ABANDONED_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Containment:
    contained: int = 0
    handed_over: int = 0
    abandoned: int = 0
    active: int = 0

    @property
    def rate(self) -> float | None:
        ended = self.contained + self.handed_over + self.abandoned
        return self.contained / ended if ended else None

    def __add__(self, other: Containment) -> Containment:
        return Containment(self.contained + other.contained, self.handed_over + other.handed_over,
                           self.abandoned + other.abandoned, self.active + other.active)

    def as_dict(self) -> dict[str, object]:
        return {"contained": self.contained, "handed_over": self.handed_over, "abandoned": self.abandoned,
                "active": self.active, "rate": None if self.rate is None else round(self.rate, 4)}


@dataclass(frozen=True)
class ContainmentReport:
    since: datetime
    until: datetime
    total: Containment
    by_channel: dict[str, Containment] = field(default_factory=dict)
    by_area: dict[str, Containment] = field(default_factory=dict)


def containment(db: Database, since: datetime, until: datetime) -> ContainmentReport:
    """Conversations started in [since, until), overall, by channel and by the ticket's area, as they
    stand at `until`."""
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    undecided, quiet = Conversation.contained.is_(None), Conversation.last_message_at < until - ABANDONED_AFTER
    counts = (func.sum(case((Conversation.contained.is_(True), 1), else_=0)),
              func.sum(case((Conversation.contained.is_(False), 1), else_=0)),
              func.sum(case((and_(undecided, quiet), 1), else_=0)),
              func.sum(case((and_(undecided, not_(quiet)), 1), else_=0)))
    window = (Conversation.created_at >= since, Conversation.created_at < until)
    with db.read() as s:
        rows = s.execute(select(Conversation.channel, Ticket.area, *counts)
                         .outerjoin(Ticket, Ticket.id == Conversation.ticket_id).where(*window)
                         .group_by(Conversation.channel, Ticket.area)).all()
    total, by_channel, by_area = Containment(), {}, {}
    for channel, area, *numbers in rows:
        part = Containment(*(int(n or 0) for n in numbers))
        total += part
        by_channel[channel] = by_channel.get(channel, Containment()) + part
        by_area[area or "general"] = by_area.get(area or "general", Containment()) + part
    return ContainmentReport(since, until, total, by_channel, by_area)
