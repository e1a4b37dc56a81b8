"""Who gets a ticket: skills (service area + language), presence and capacity.

`route` gives a ticket to an online agent who has the skills and room (load < capacity), chosen
least-loaded or round robin. When nobody fits the ticket waits unassigned in the overflow queue
(with a matching team, if one exists); `drain_queue` hands queued tickets out, oldest first, when
room appears (an agent comes online, a ticket is solved: the periodic job runs it every minute).
An agent going offline hands her open tickets on, or back to the queue. Supervisors override
routing through `Tickets.assign`, which calls `assign`. Every assignment is audited and evented.

Concurrency. The chosen agent's row is locked and her load counted again under the lock, so two
routers never both take her last seat. Lock order: tickets before agents. A unit of work waits for
an agent lock only while it holds none; once it holds one (a candidate that turned out full) it
skips busy agents instead, so two routers never wait on each other. `FOR NO KEY UPDATE` rather
than `FOR UPDATE`: the lock must not block inserts that merely reference the row (a ticket
referencing its agent, a message its ticket). On SQLite, writers are serialized by BEGIN
IMMEDIATE and the lock clauses are no-ops. Savepoints are deliberately not used: rolling one back
drops the unit of work's pending events and on-commit hooks (see platform/db.py, desk/events.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, false, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .changes import TicketChange, TicketChanges
from .domain_events import TicketAssigned
from .events import EventLog
from .lifecycle import SEAT_STATUSES, Status
from .models import Agent, Team, Ticket

PRESENCES = ("online", "away", "offline")
STRATEGIES = ("least_loaded", "round_robin")
# The expected wait told to a customer handed to a person: minutes per case ahead of them per agent.
MINUTES_PER_CASE = 4
NOBODY_ONLINE_MINUTES = 30
_LOCKED = "gopaycare_routing_locked_agents"


@dataclass
class Candidate:
    id: int
    areas: list[str]
    languages: list[str]
    capacity: int
    last_assigned_at: datetime | None
    load: int

    def skilled_for(self, area: str, language: str) -> bool:
        return _skilled(self.areas, self.languages, area, language)

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


def _skilled(areas: Sequence[str] | None, languages: Sequence[str] | None, area: str, language: str) -> bool:
    """Empty areas (languages) means any area (language): a generalist."""
    return (not areas or area in areas) and (not languages or language in languages)


def _queued() -> tuple[Any, ...]:
    return (Ticket.assignee_id.is_(None), Ticket.status.in_(SEAT_STATUSES), Ticket.merged_into_id.is_(None))


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)


class Router:
    def __init__(self, db: Database, clock: Clock, events: EventLog, changes: TicketChanges) -> None:
        self.db = db
        self.clock = clock
        self.events = events
        self.changes = changes
        self._strategy = "least_loaded"

    @property
    def strategy(self) -> str:
        return self._strategy

    @strategy.setter
    def strategy(self, value: str) -> None:
        if value not in STRATEGIES:
            raise ValidationFailed(f"strategy must be one of {', '.join(STRATEGIES)}", field="strategy")
        self._strategy = value

    # ---------------------------------------------------------------- reading

    def load(self, s: Session, agent_id: int) -> int:
        return s.execute(select(func.count()).select_from(Ticket).where(
            Ticket.assignee_id == agent_id, Ticket.status.in_(SEAT_STATUSES))).scalar_one()

    def agent_load(self, agent_id: int) -> int:
        """The seats this agent fills now (weighed against their capacity): the console's header."""
        with self.db.read() as s:
            return self.load(s, agent_id)

    def _available(self, s: Session) -> list[Candidate]:
        """Active online agents with a capacity, and their current load."""
        online = and_(Agent.active.is_(True), Agent.presence == "online", Agent.capacity > 0)
        loads = (select(Ticket.assignee_id.label("agent_id"), func.count().label("n"))
                 .join(Agent, Agent.id == Ticket.assignee_id)
                 .where(online, Ticket.status.in_(SEAT_STATUSES)).group_by(Ticket.assignee_id).subquery())
        rows = s.execute(select(Agent.id, Agent.areas, Agent.languages, Agent.capacity, Agent.last_assigned_at,
                                func.coalesce(loads.c.n, 0))
                         .outerjoin(loads, loads.c.agent_id == Agent.id).where(online)).all()
        return [Candidate(r[0], list(r[1] or []), list(r[2] or []), r[3], r[4], r[5]) for r in rows]

    def _ranked(self, candidates: Iterable[Candidate], area: str, language: str) -> list[Candidate]:
        """Skilled candidates with room, best first."""
        fit = [c for c in candidates if c.has_room and c.skilled_for(area, language)]

        def since(c: Candidate) -> tuple[bool, datetime | None]:
            return (c.last_assigned_at is not None, c.last_assigned_at)  # never assigned comes first

        if self._strategy == "round_robin":
            # Equal timestamps (one drain assigns many at one `now`) fall back to load, so it still rotates.
            return sorted(fit, key=lambda c: (*since(c), c.load, c.id))
        return sorted(fit, key=lambda c: (c.load, *since(c), c.id))

    # ---------------------------------------------------------------- routing

    def route(self, s: Session, ticket: Ticket, now: datetime) -> int | None:
        """Give the ticket to the best agent who fits, or leave it in the overflow queue."""
        agent_id = self._place(s, ticket, now)
        if agent_id is None:
            self._queue(s, ticket, now, reason="no agent available")
        return agent_id

    def route_if_assignee_away(self, s: Session, ticket: Ticket, now: datetime) -> None:
        """Route a ticket again when the agent who has it is not online (or has none)."""
        if ticket.assignee_id is None:
            return
        presence = s.execute(select(Agent.presence).where(Agent.id == ticket.assignee_id)).scalar_one_or_none()
        if presence != "online":
            self.route(s, ticket, now)

    def _place(self, s: Session, ticket: Ticket, now: datetime) -> int | None:
        for candidate in self._ranked(self._available(s), ticket.area, ticket.language):
            agent = self._lock(s, candidate.id)
            if agent is not None and self._fits(s, agent, ticket):
                # The ticket joins its area's team too, so the team sees it (a ticket already in a team stays).
                team_id = ticket.team_id if ticket.team_id is not None else self._overflow_team(s, ticket)
                self.assign(s, ticket, agent.id, now, actor=Actor.system(), reason=f"routed ({self._strategy})",
                            team_id=team_id)
                return agent.id
        return None

    def on_area_changed(self, s: Session, ticket: Ticket, now: datetime) -> None:
        """A ticket whose service area changed belongs to the new area's team: it moves there (when
        one exists), and an agent without the skill for the new area hands it on (routed again, or
        queued in the new team)."""
        if Status(ticket.status).final:
            return
        team = s.get(Team, ticket.team_id) if ticket.team_id is not None else None
        team_id = ticket.team_id
        if team is None or ticket.area not in (team.areas or []):
            team_id = self._overflow_team(s, ticket) or ticket.team_id
        agent = s.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None
        if agent is not None and not _skilled(agent.areas, agent.languages, ticket.area, ticket.language):
            self.assign(s, ticket, None, now, actor=Actor.system(), reason="area changed", team_id=team_id)
            self.route(s, ticket, now)
        elif team_id != ticket.team_id:
            self.assign(s, ticket, ticket.assignee_id, now, actor=Actor.system(), reason="area changed",
                        team_id=team_id)

    def _lock(self, s: Session, agent_id: int) -> Agent | None:
        """Lock an online agent's row (None if she is no longer online, or busy and we must not wait)."""
        held: set[int] = s.info.setdefault(_LOCKED, set())
        skip = bool(held - {agent_id})
        agent = s.execute(
            select(Agent).where(Agent.id == agent_id, Agent.active.is_(True), Agent.presence == "online")
            .with_for_update(key_share=True, skip_locked=skip).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if agent is not None:
            held.add(agent.id)
        return agent

    def _fits(self, s: Session, agent: Agent, ticket: Ticket) -> bool:
        """Checked again under the agent's row lock: what was read before may have changed."""
        return (agent.active and agent.presence == "online"
                and _skilled(agent.areas, agent.languages, ticket.area, ticket.language)
                and self.load(s, agent.id) < agent.capacity)

    def _queue(self, s: Session, ticket: Ticket, now: datetime, *, reason: str) -> None:
        team_id = ticket.team_id if ticket.team_id is not None else self._overflow_team(s, ticket)
        if ticket.assignee_id is not None:
            self.assign(s, ticket, None, now, actor=Actor.system(), reason=reason, team_id=team_id)
        elif team_id != ticket.team_id:
            # Waiting in a team's queue is not an assignment: "ticket.queued" below says it, team included.
            ticket.team_id, ticket.updated_at = team_id, now
        audit.record(s, at=now, actor=Actor.system(), action="ticket.queued", subject_type="ticket",
                     subject_id=ticket.id, reason=reason, team_id=ticket.team_id)
        self.events.ticket_event(s, "ticket.queued", ticket, now, area=ticket.area, language=ticket.language)

    def _overflow_team(self, s: Session, ticket: Ticket) -> int | None:
        """The team for this area that speaks the language; a team naming the language beats one that
        takes any language, then the oldest team."""
        teams = [t for t in s.scalars(select(Team).order_by(Team.id))
                 if ticket.area in (t.areas or []) and _skilled(None, t.languages, ticket.area, ticket.language)]
        teams.sort(key=lambda t: (ticket.language not in (t.languages or []), t.id))
        return teams[0].id if teams else None

    # ---------------------------------------------------------------- assignment

    def assign(self, s: Session, ticket: Ticket, agent_id: int | None, now: datetime, *, actor: Actor,
               reason: str | None, team_id: int | None = None) -> None:
        """Set (or clear, with None) the ticket's assignee, and optionally its team. No capacity or
        presence check: routing checked them, and a supervisor's override may ignore them."""
        self.changes.do_change(s, ticket, TicketChange(assignee_id=agent_id, team_id=team_id), actor=actor,
                               now=now, reason=reason)

    def on_assigned(self, s: Session, event: TicketAssigned) -> None:
        """Round robin remembers who was given a ticket last, whoever gave it."""
        if event.ticket.assignee_id is not None and event.ticket.assignee_id != event.previous_agent_id:
            agent = s.get(Agent, event.ticket.assignee_id)
            if agent is not None:
                agent.last_assigned_at = event.now

    def online(self) -> int:
        """How many agents are online now."""
        with self.db.read() as s:
            return self._online(s)

    @staticmethod
    def _online(s: Session) -> int:
        return s.execute(select(func.count()).select_from(Agent).where(
            Agent.presence == "online", Agent.active.is_(True))).scalar_one()

    def expected_wait_minutes(self) -> int:
        """What a customer handed to a person is told: the queue ahead of them over the agents online."""
        with self.db.read() as s:
            queued = s.execute(select(func.count()).select_from(Ticket).where(*_queued())).scalar_one()
            online = self._online(s)
        if not online:
            return NOBODY_ONLINE_MINUTES
        return max(1, -(-(queued + 1) // online) * MINUTES_PER_CASE)

    # ---------------------------------------------------------------- presence and the queue

    def set_presence(self, agent_id: int, presence: str, *, actor: Actor) -> None:
        if presence not in PRESENCES:
            raise ValidationFailed(f"presence must be one of {', '.join(PRESENCES)}", field="presence")
        now = self.clock.now()
        with self.db.transaction() as s:
            # Tickets before agents (the lock order). Going offline also locks every online agent with
            # her, by id, so two agents going offline at once, each handing tickets on to the other,
            # cannot deadlock.
            going_offline = presence == "offline"
            seated = self._seated(s, agent_id) if going_offline else []
            others = and_(Agent.active.is_(True), Agent.presence == "online") if going_offline else false()
            agents = {a.id: a for a in s.scalars(
                select(Agent).where(or_(Agent.id == agent_id, others)).order_by(Agent.id)
                .with_for_update(key_share=True).execution_options(populate_existing=True))}
            s.info.setdefault(_LOCKED, set()).update(agents)
            agent = agents.get(agent_id)
            if agent is None:
                raise NotFound("agent not found", agent_id=agent_id)
            if not agent.active and presence != "offline":
                raise Conflict("a deactivated agent cannot come online", code="agent_inactive")
            old = agent.presence
            if old == presence:
                return
            agent.presence = presence
            audit.record(s, at=now, actor=actor, action="agent.presence_changed", subject_type="agent",
                         subject_id=agent_id, old=old, new=presence)
            self.events.emit(s, "agent.presence", at=now, agent_id=agent_id, presence=presence, previous=old)
            if going_offline:
                # Tickets assigned to her while we waited for her row lock are seated too.
                seated += [t for t in self._seated(s, agent_id) if t not in seated]
                for ticket in sorted(seated, key=lambda t: (t.created_at, t.id)):
                    if self._place(s, ticket, now) is None:
                        self._queue(s, ticket, now, reason=f"agent {agent_id} went offline")
        if presence == "online":
            self.drain_queue(now)

    def _seated(self, s: Session, agent_id: int) -> list[Ticket]:
        return list(s.scalars(select(Ticket).where(Ticket.assignee_id == agent_id, Ticket.status.in_(SEAT_STATUSES))
                              .order_by(Ticket.id).with_for_update(key_share=True)))

    def drain_queue(self, now: datetime) -> int:
        """Assign queued tickets, oldest first, while agents have room; return how many.

        One short unit of work per ticket, so the queue never holds many agents' locks at once. The
        plan (which tickets someone can take) is made with the same ranking on one read, so tickets
        nobody can take cost no write transaction; each assignment is decided again under its locks."""
        with self.db.read() as s:
            queued = s.execute(select(Ticket.id, Ticket.area, Ticket.language).where(*_queued())
                               .order_by(Ticket.created_at, Ticket.id)).all()
            candidates = self._available(s) if queued else []
        plan = []
        for ticket_id, area, language in queued:
            ranked = self._ranked(candidates, area, language)
            if ranked:
                ranked[0].load += 1
                ranked[0].last_assigned_at = now
                plan.append(ticket_id)
        assigned = 0
        for ticket_id in plan:
            with self.db.transaction() as s:
                ticket = s.execute(select(Ticket).where(Ticket.id == ticket_id, *_queued())
                                   .with_for_update(key_share=True, skip_locked=True)).scalar_one_or_none()
                if ticket is not None and self._place(s, ticket, now) is not None:
                    assigned += 1
        return assigned
