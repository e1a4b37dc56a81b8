"""The supervisor's live board: queue sizes and the longest wait by service area, agents' presence
and load, SLA clocks at risk. Each figure is one query read in index order (the queue's and the
running SLA clocks' partial indexes, the assignee index), so the board stays cheap at a million
tickets and can be polled by every supervisor's screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..platform.clock import Clock
from ..platform.db import Database
from .lifecycle import SEAT_STATUSES
from .models import Agent, Ticket

AT_RISK_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class Queue:
    area: str
    waiting: int
    oldest: datetime | None

    def wait_minutes(self, now: datetime) -> int | None:
        return None if self.oldest is None else max(0, int((now - self.oldest).total_seconds() // 60))


@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    presence: str
    capacity: int
    load: int


@dataclass(frozen=True)
class BoardView:
    now: datetime
    queues: list[Queue]
    agents: list[AgentLoad]
    sla_breached: int
    sla_at_risk: int

    @property
    def waiting(self) -> int:
        return sum(q.waiting for q in self.queues)

    @property
    def longest_wait_minutes(self) -> int | None:
        waits = [w for q in self.queues if (w := q.wait_minutes(self.now)) is not None]
        return max(waits, default=None)

    def presence(self) -> dict[str, int]:
        counts = {"online": 0, "away": 0, "offline": 0}
        for agent in self.agents:
            counts[agent.presence] = counts.get(agent.presence, 0) + 1
        return counts


class Board:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def now(self) -> BoardView:
        now = self.clock.now()
        queued = (Ticket.assignee_id.is_(None), Ticket.status.in_(SEAT_STATUSES))
        running = Ticket.sla_state.in_(("active", "warning"))
        with self.db.read() as s:
            # Counted in the queue's partial index; the oldest per area is its first entry there.
            sizes = dict(s.execute(select(Ticket.area, func.count()).where(*queued).group_by(Ticket.area)).all())
            queues = [Queue(area, int(n), s.execute(select(func.min(Ticket.created_at))
                                                     .where(*queued, Ticket.area == area)).scalar_one())
                      for area, n in sorted(sizes.items())]
            # Each agent's load is a range of the assignee index (not one pass over every assigned ticket).
            load = (select(func.count()).select_from(Ticket)
                    .where(Ticket.assignee_id == Agent.id, Ticket.status.in_(SEAT_STATUSES))
                    .correlate(Agent).scalar_subquery())
            agents = [AgentLoad(i, name, presence, capacity, int(n)) for i, name, presence, capacity, n in s.execute(
                select(Agent.id, Agent.name, Agent.presence, Agent.capacity, load)
                .where(Agent.active.is_(True)).order_by(Agent.name, Agent.id))]
            breached = s.execute(select(func.count()).select_from(Ticket).where(
                running, Ticket.sla_next_due_at.is_not(None), Ticket.sla_next_due_at < now)).scalar_one()
            at_risk = s.execute(select(func.count()).select_from(Ticket).where(
                running, Ticket.sla_next_due_at.is_not(None), Ticket.sla_next_due_at >= now,
                Ticket.sla_next_due_at < now + AT_RISK_WITHIN)).scalar_one()
        return BoardView(now, queues, agents, int(breached), int(at_risk))
