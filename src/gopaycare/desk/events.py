"""The agents' event stream: stored events with a resumable cursor, pushed after commit.

A use case calls `emit(session, kind, ...)`. Just before its transaction commits, the events get
ids from a counter row taken under lock (`desk_event_sequence`), so events become visible in id
order and a client that resumes "after id N" cannot miss an event committed later with a smaller
id (the time-window bug of Chatwoot #14934). After commit they are published to live listeners
(WebSocket connections) through the pub/sub hub; a listener that was away reads the table from its
cursor. The WebSocket path only delivers: it never does the slow work.

Some signals are worth nothing a moment later (someone is typing): `EventHub.signal` pushes them
through the same hub, to the same listeners and across processes, but they take no row and no id
(`EventView.ephemeral`, id 0). A listener that was away never sees them, and nothing catches them
up: lost without harm.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, or_, select, text, update
from sqlalchemy.orm import Session

from ..platform.db import Database, on_commit
from ..platform.pii import mask_text, mask_value
from .event_order import InOrder
from .models import DeskEvent, DeskEventSequence, Message, Ticket

log = logging.getLogger(__name__)
_PENDING = "gopaycare_desk_events"
# To the agent's own streams: a token was revoked or the agent deactivated; check the token again.
ACCESS_CHANGED = "agent.access_changed"


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    ticket_id: int | None
    agent_id: int | None
    team_id: int | None
    payload: dict[str, Any]
    # A signal pushed once and never stored (id 0): no cursor moves for it, no catch-up replays it.
    ephemeral: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "kind": self.kind, "ticket_id": self.ticket_id,
                "agent_id": self.agent_id, "team_id": self.team_id, "payload": self.payload,
                "ephemeral": self.ephemeral}


def _view(row: DeskEvent) -> EventView:
    return EventView(row.id, row.at, row.kind, row.ticket_id, row.agent_id, row.team_id, row.payload)


@dataclass
class _Pending:
    rows: list[DeskEvent] = field(default_factory=list)
    # Run first at commit; they may emit more events (the final snapshot of each touched ticket).
    finalizers: dict[str, Callable[[], None]] = field(default_factory=dict)


def at_commit(session: Session, key: str, finalizer: Callable[[], None]) -> None:
    """Run `finalizer` once, just before this unit of work's events get their ids."""
    pending: _Pending = session.info.setdefault(_PENDING, _Pending())
    pending.finalizers.setdefault(key, finalizer)


def emit(session: Session, kind: str, *, at: datetime, ticket_id: int | None = None, agent_id: int | None = None,
         team_id: int | None = None, **payload: Any) -> None:
    """Queue an event in this unit of work; it gets its id at commit and is pushed after it. The
    payload is stored and pushed masked: agents (and Redis) never hold customer text in clear."""
    pending: _Pending = session.info.setdefault(_PENDING, _Pending())
    pending.rows.append(DeskEvent(at=at, kind=kind, ticket_id=ticket_id, agent_id=agent_id, team_id=team_id,
                                  payload=mask_value(json.loads(json.dumps(payload, default=str)))))


@event.listens_for(Session, "before_commit")
def _assign_ids(session: Session) -> None:
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is not None:
        for finalizer in list(pending.finalizers.values()):
            finalizer()
    session.info.pop(_PENDING, None)
    if not pending or not pending.rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _insert_numbered(session, pending.rows)
    else:
        # The row lock on the counter is held until this transaction commits: ids commit in order.
        last = session.execute(
            update(DeskEventSequence).where(DeskEventSequence.name == "desk")
            .values(last_id=DeskEventSequence.last_id + len(pending.rows)).returning(DeskEventSequence.last_id)
        ).scalar_one()
        for offset, row in enumerate(pending.rows):
            row.id = last - len(pending.rows) + 1 + offset
            session.add(row)
        session.flush()
    views = [_view(row) for row in pending.rows]
    hub: EventHub | None = session.info.get("gopaycare_event_hub")
    if hub is not None:
        on_commit(session, lambda: hub.publish(views), first=True)


def _insert_numbered(session: Session, rows: list[DeskEvent]) -> None:
    """PostgreSQL: the counter's next ids and the events' rows in one statement, after everything
    else in the unit of work is flushed. Every transaction that emits events waits for the counter's
    row lock, held from here until COMMIT returns, so nothing else may happen in between: measured
    with `bench/chat.py`, that lock is what every other message waits for (pg_stat_activity)."""
    session.flush()
    params: dict[str, Any] = {"n": len(rows)}
    values = []
    for i, row in enumerate(rows):
        values.append(f"({i}, CAST(:at{i} AS TIMESTAMPTZ), CAST(:kind{i} AS VARCHAR), CAST(:ticket{i} AS BIGINT), "
                      f"CAST(:agent{i} AS BIGINT), CAST(:team{i} AS BIGINT), CAST(:payload{i} AS JSON))")
        params.update({f"at{i}": row.at, f"kind{i}": row.kind, f"ticket{i}": row.ticket_id,
                       f"agent{i}": row.agent_id, f"team{i}": row.team_id, f"payload{i}": json.dumps(row.payload)})
    first = session.execute(text(
        "WITH counter AS (UPDATE desk_event_sequence SET last_id = last_id + :n WHERE name = 'desk' "
        "RETURNING last_id - :n + 1 AS first) "
        "INSERT INTO desk_events (id, at, kind, ticket_id, agent_id, team_id, payload) "
        "SELECT counter.first + v.o, v.at, v.kind, v.t, v.a, v.m, v.p FROM counter, "
        f"(VALUES {', '.join(values)}) AS v(o, at, kind, t, a, m, p) RETURNING id"
    ), params).scalars().all()
    for row, event_id in zip(rows, sorted(first), strict=True):
        row.id = event_id


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous: Any) -> None:
    if previous.nested or previous.parent is not None:  # a savepoint: the transaction goes on
        return
    session.info.pop(_PENDING, None)


class EventHub:
    """Fans committed events out to live listeners (WebSocket connections).

    Embedded mode: in this process. With Redis: every process publishes to one Redis channel and
    a subscriber thread in each process delivers to its own listeners, so a client connected to
    any worker sees events committed by every worker. Redis is only the doorbell: the events table
    stays the record, and a listener that missed a push catches up from its cursor."""

    CHANNEL = "gopaycare:desk-events"

    def __init__(self, redis_url: str | None = None) -> None:
        self._listeners: list[Callable[[list[EventView]], None]] = []
        self._lock = threading.Lock()
        self._in_order = InOrder(self._fan_out)
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            self._pubsub.subscribe(**{self.CHANNEL: self._on_redis_message})
            self._thread = self._pubsub.run_in_thread(sleep_time=0.5, daemon=True,
                                                      exception_handler=self._on_redis_error)

    def attach(self, session: Session) -> None:
        session.info["gopaycare_event_hub"] = self

    def subscribe(self, listener: Callable[[list[EventView]], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, views: list[EventView]) -> None:
        if self._redis is not None:
            try:
                self._redis.publish(self.CHANNEL, json.dumps([v.as_json() for v in views]))
                return
            except Exception:  # Redis down: local listeners still get it; others catch up by cursor
                log.exception("could not publish events to Redis")
        self._deliver(views)

    def signal(self, kind: str, *, at: datetime, ticket_id: int | None = None, agent_id: int | None = None,
               team_id: int | None = None, **payload: Any) -> None:
        """Push an ephemeral signal to every listener (every process, with Redis), now, storing nothing."""
        self.publish([EventView(0, at, kind, ticket_id, agent_id, team_id, json.loads(json.dumps(payload, default=str)),
                                ephemeral=True)])

    def _on_redis_message(self, message: dict[str, Any]) -> None:
        views = [EventView(e["id"], datetime.fromisoformat(e["at"]), e["kind"], e["ticket_id"], e["agent_id"],
                           e["team_id"], e["payload"], bool(e.get("ephemeral")))
                 for e in json.loads(message["data"])]
        self._deliver(views)

    def _deliver(self, views: list[EventView]) -> None:
        self._in_order.push(views)

    def _fan_out(self, views: list[EventView]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(views)
            except Exception:  # one broken listener must not stop the others
                log.exception("event listener failed")

    @staticmethod
    def _on_redis_error(error: BaseException, pubsub: Any, thread: Any) -> None:
        log.warning("desk event subscriber stopped: %s", type(error).__name__)
        thread.stop()

    def close(self) -> None:
        if self._redis is not None:
            # Stop and join the reader before closing its socket under it.
            self._thread.stop()
            self._thread.join(timeout=5)
            self._pubsub.close()
            self._redis.close()


def ticket_summary(t: Ticket) -> dict[str, object]:
    """What an inbox row shows (subject masked: it is customer text)."""
    return {"id": t.id, "subject": mask_text(t.subject), "status": t.status, "priority": t.priority, "area": t.area,
            "channel": t.channel, "language": t.language, "assignee_id": t.assignee_id, "team_id": t.team_id,
            "tags": list(t.tags or []), "sla_state": t.sla_state,
            "sla_next_due_at": t.sla_next_due_at.isoformat() if t.sla_next_due_at else None,
            "merged_into_id": t.merged_into_id, "updated_at": t.updated_at.isoformat()}


class EventLog:
    def __init__(self, db: Database, hub: EventHub) -> None:
        self.db = db
        self.hub = hub

    def emit(self, session: Session, kind: str, *, at: datetime, ticket_id: int | None = None,
             agent_id: int | None = None, team_id: int | None = None, **payload: Any) -> None:
        self.hub.attach(session)
        emit(session, kind, at=at, ticket_id=ticket_id, agent_id=agent_id, team_id=team_id, **payload)

    def ticket_event(self, session: Session, kind: str, ticket: Ticket, now: datetime, **payload: object) -> None:
        """An event about a ticket, for whoever may see the ticket (its assignee, its team, the
        supervisors), followed at commit by the ticket's snapshot."""
        self.emit(session, kind, at=now, ticket_id=ticket.id, agent_id=ticket.assignee_id, team_id=ticket.team_id,
                  **payload)
        self._snapshot_at_commit(session, ticket, now)

    def message_event(self, session: Session, ticket: Ticket, message: Message, now: datetime) -> None:
        # Agents see a masked preview; the full text is fetched (and masked) through the API.
        self.ticket_event(session, "message.created", ticket, now, message_id=message.id,
                          conversation_id=message.conversation_id, seq=message.seq, direction=message.direction,
                          author_type=message.author_type, internal=message.internal,
                          preview=mask_text(message.body[:200]))

    def _snapshot_at_commit(self, session: Session, ticket: Ticket, now: datetime) -> None:
        """One `ticket.snapshot` per touched ticket, with its state as committed: a client that
        applies snapshots in id order holds exactly what a fresh fetch returns."""
        touched: dict[int, Ticket] = session.info.setdefault("gopaycare_touched_tickets", {})
        touched[ticket.id] = ticket

        def snapshots() -> None:
            for t in session.info.pop("gopaycare_touched_tickets", {}).values():
                session.flush()
                self.emit(session, "ticket.snapshot", at=now, ticket_id=t.id, agent_id=t.assignee_id,
                          team_id=t.team_id, ticket=ticket_summary(t))

        at_commit(session, "ticket_snapshots", snapshots)

    def since(self, cursor: int, *, agent_id: int | None, team_ids: list[int], see_all: bool,
              limit: int = 500) -> list[EventView]:
        """Events after `cursor` that this agent may see, oldest first."""
        stmt = select(DeskEvent).where(DeskEvent.id > cursor)
        if not see_all:
            stmt = stmt.where(or_(DeskEvent.agent_id == agent_id, DeskEvent.team_id.in_(team_ids or [-1]),
                                  (DeskEvent.agent_id.is_(None)) & (DeskEvent.team_id.is_(None))))
        with self.db.read() as s:
            return [_view(row) for row in s.scalars(stmt.order_by(DeskEvent.id).limit(limit))]

    def last_id(self) -> int:
        with self.db.read() as s:
            return s.execute(select(DeskEventSequence.last_id).where(DeskEventSequence.name == "desk")).scalar_one()


def visible_to(view: EventView, *, agent_id: int, team_ids: list[int], see_all: bool) -> bool:
    if see_all or (view.agent_id is None and view.team_id is None):
        return True
    return view.agent_id == agent_id or (view.team_id is not None and view.team_id in team_ids)


class AsyncBridge:
    """Hands events published on a worker thread to an asyncio queue of one WebSocket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[list[EventView]]) -> None:
        self.loop = loop
        self.queue = queue

    def __call__(self, views: list[EventView]) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, views)
