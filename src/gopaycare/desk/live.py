"""The agents' live event stream: catch up from a cursor, then follow what the hub pushes.

A client resumes "after id N" (never from a time window). The hub pushes every committed event to
every stream; a stream sends the ones its agent may see, never twice (ids only go up) and without
gaps: ids become visible in commit order (see events.py), so a jump in ids means a push is still
on its way, and only then is the table read. Nothing here knows HTTP or WebSockets: the caller
hands in an async `send(event)` and pumps.

Whether an agent may see a ticket's event is judged at delivery, against the ticket's current
assignee and team, not by who it was addressed to when emitted: a ticket reassigned away stops
reaching the old team at once. Pushed events are judged by the placement the process last heard
(`Placements`, kept from the hub's snapshots: no read per stream and batch); pages read from the
table are judged by one indexed read per page. An
`agent.access_changed` event makes that agent's streams check their token again (`recheck`) and
end with `AccessEnded` when it no longer works (deactivated agent, revoked token).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..platform.errors import Conflict
from .access import Viewer, visible_ids
from .events import ACCESS_CHANGED, EventLog, EventView, visible_to

CATCH_UP_LIMIT = 500
PLACEMENTS_KEPT = 100_000
Send = Callable[[EventView], Awaitable[None]]
# Sent to the agent a ticket left even though they may no longer open it: ids only, no customer text.
LEAVING_NOTICES = frozenset({"ticket.unassigned"})


class AccessEnded(Exception):
    """The stream's agent was deactivated or its token revoked: close the connection."""


def may_see(viewer: Viewer, event: EventView, visible_now: set[int]) -> bool:
    """`visible_now`: which of the event's tickets the viewer may open at delivery time."""
    if viewer.sees_all:
        return True
    if event.ticket_id is None:
        return visible_to(event, agent_id=viewer.agent.id, team_ids=list(viewer.team_ids), see_all=False)
    return event.ticket_id in visible_now or (event.kind in LEAVING_NOTICES and event.agent_id == viewer.agent.id)


@dataclass(frozen=True)
class Placement:
    """Where a ticket is, as its latest `ticket.snapshot` said: who may open it."""

    event_id: int
    assignee_id: int | None
    team_id: int | None

    def open_to(self, viewer: Viewer) -> bool:  # the rule of access.visible
        return self.assignee_id is None or self.assignee_id == viewer.agent.id or self.team_id in viewer.team_ids


class Placements:
    """Each ticket's current placement as this process last heard it, from the hub (every commit
    that touches a ticket ends with its snapshot). Streams judge pushed events by it, so a ticket
    reassigned away stops reaching the old agent at once, without every stream reading the table
    for every batch. Bounded: the oldest entries are forgotten (their events are then judged as
    addressed, as they were when emitted)."""

    def __init__(self, capacity: int = PLACEMENTS_KEPT) -> None:
        self.capacity = capacity
        self._placed: OrderedDict[int, Placement] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, batch: list[EventView]) -> None:
        """A hub listener: subscribe it before any stream."""
        with self._lock:
            for e in batch:
                if e.kind != "ticket.snapshot" or e.ticket_id is None:
                    continue
                known = self._placed.get(e.ticket_id)
                if known is not None and known.event_id > e.id:  # a late push of an older snapshot
                    continue
                # Replaced in place, never removed first: streams read without the lock.
                self._placed[e.ticket_id] = Placement(e.id, e.agent_id, e.team_id)
                self._placed.move_to_end(e.ticket_id)
            while len(self._placed) > self.capacity:
                self._placed.popitem(last=False)

    def of(self, ticket_id: int | None) -> Placement | None:
        return self._placed.get(ticket_id) if ticket_id is not None else None


@dataclass(frozen=True)
class EventPage:
    items: list[EventView]
    last_id: int  # the cursor to resume from
    more: bool  # the page is full: ask again from last_id


class Live:
    def __init__(self, log: EventLog, placements: Placements | None = None, *, limit: int = CATCH_UP_LIMIT) -> None:
        self.log = log
        self.placements = placements or Placements()
        self.limit = limit

    def since(self, viewer: Viewer, after: int) -> list[EventView]:
        """Up to `limit` events after `after` that this viewer may see, oldest first."""
        return self.log.since(after, agent_id=viewer.agent.id, team_ids=list(viewer.team_ids),
                              see_all=viewer.sees_all, limit=self.limit)

    def check_cursor(self, after: int) -> None:
        """`after` names an event that exists (or 0). One beyond the newest id can only come from a
        client that kept a cursor across a reset or made one up: it would wait, silently, for events
        that never come, so it is refused with the newest id to resume from."""
        newest = self.log.last_id()
        if after > newest:
            raise Conflict(f"no event has id {after}; the newest is {newest}", code="cursor_ahead", last_id=newest)

    def page(self, viewer: Viewer, after: int) -> EventPage:
        self.check_cursor(after)
        items = self.since(viewer, after)
        visible_now = self.visible_tickets(viewer, {e.ticket_id for e in items if e.ticket_id is not None})
        return EventPage([e for e in items if may_see(viewer, e, visible_now)], items[-1].id if items else after,
                         len(items) == self.limit)

    def visible_tickets(self, viewer: Viewer, ticket_ids: set[int]) -> set[int]:
        """Which of these tickets the viewer may open now, read in bounded chunks."""
        if viewer.sees_all or not ticket_ids:
            return set(ticket_ids)
        ids, found = sorted(ticket_ids), set()
        with self.log.db.read() as s:
            for start in range(0, len(ids), self.limit):
                found |= visible_ids(s, viewer, set(ids[start:start + self.limit]))
        return found

    def stream(self, viewer: Viewer, after: int, send: Send) -> LiveStream:
        return LiveStream(self, viewer, after, send)


class LiveStream:
    """One connection's position: `seen` is the highest event id known (visible or not), `sent` the
    highest sent."""

    def __init__(self, live: Live, viewer: Viewer, after: int, send: Send) -> None:
        self.live, self.viewer, self._send = live, viewer, send
        self.seen = self.sent = after
        self.recheck: Callable[[], bool] | None = None  # does the stream's token still work? (blocking)
        self._pushed: asyncio.Queue[list[EventView]] = asyncio.Queue()

    def listener(self) -> Callable[[list[EventView]], None]:
        """For the hub (which calls it on its own thread): hands each batch to this stream's loop.
        Call it on that loop, and subscribe before `run`, so nothing committed in between is lost."""
        loop = asyncio.get_running_loop()

        def push(batch: list[EventView]) -> None:
            loop.call_soon_threadsafe(self._pushed.put_nowait, batch)

        return push

    async def run(self) -> None:
        """Catch up, then deliver pushed batches until `send` raises (the client went away)."""
        await self.catch_up()
        while True:
            await self.deliver(await self._pushed.get())

    async def catch_up(self, until: int | None = None) -> None:
        """Send what this viewer missed since `sent` (up to id `until`, excluded), from the table."""
        cursor = self.sent
        while True:
            # The table reads are indexed and quick, but blocking: off the event loop.
            top = await asyncio.to_thread(self.live.log.last_id)
            missed = await asyncio.to_thread(self.live.since, self.viewer, cursor)
            visible_now = await self._visible_now(missed)
            for event in missed:
                if until is not None and event.id >= until:
                    return
                if may_see(self.viewer, event, visible_now):
                    await self._deliver_one(event)
                cursor = event.id
            if len(missed) < self.live.limit:
                self.seen = max(self.seen, top if until is None else min(top, until - 1))
                return

    async def deliver(self, batch: list[EventView]) -> None:
        """A pushed batch: every stream gets every event; send the visible ones not sent yet. An
        ephemeral signal (someone typing) is sent if visible, and moves no cursor. Visibility is
        the ticket's placement as this process last heard it (`Placements`): no read per stream."""
        for event in batch:
            if event.ephemeral and self._may_see_now(event):
                await self._send(event)
        for event in sorted((e for e in batch if not e.ephemeral), key=lambda e: e.id):
            if event.id <= self.seen:
                continue
            if event.id > self.seen + 1:
                await self.catch_up(until=event.id)
            self.seen = event.id
            if self._may_see_now(event):
                await self._deliver_one(event)

    def _may_see_now(self, event: EventView) -> bool:
        if self.viewer.sees_all:
            return True
        placed = self.live.placements.of(event.ticket_id)
        if placed is None:  # not a ticket's, or a ticket this process has not heard of: as addressed
            return visible_to(event, agent_id=self.viewer.agent.id, team_ids=list(self.viewer.team_ids),
                              see_all=False)
        return placed.open_to(self.viewer) or (event.kind in LEAVING_NOTICES and event.agent_id == self.viewer.agent.id)

    async def _visible_now(self, events: list[EventView]) -> set[int]:
        """The batch's tickets this viewer may open now: one read per batch, none for supervisors."""
        ticket_ids = {e.ticket_id for e in events if e.ticket_id is not None}
        if self.viewer.sees_all or not ticket_ids:
            return ticket_ids
        return await asyncio.to_thread(self.live.visible_tickets, self.viewer, ticket_ids)

    async def _check_access(self, event: EventView) -> None:
        if event.kind == ACCESS_CHANGED and event.agent_id == self.viewer.agent.id and self.recheck is not None:
            if not await asyncio.to_thread(self.recheck):
                raise AccessEnded

    async def _deliver_one(self, event: EventView) -> None:
        await self._check_access(event)
        if event.id > self.sent:
            await self._send(event)
            self.sent = event.id
        self.seen = max(self.seen, event.id)
