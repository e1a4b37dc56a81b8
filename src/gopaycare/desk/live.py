"""The agents' live event stream: catch up from a cursor, then follow what the hub pushes.

A client resumes "after id N" (never from a time window). The hub pushes every committed event to
every stream; a stream sends the ones its agent may see, never twice (ids only go up) and without
gaps: ids become visible in commit order (see events.py), so a jump in ids means a push is still
on its way, and only then is the table read. Nothing here knows HTTP or WebSockets: the caller
hands in an async `send(event)` and pumps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .access import Viewer
from .events import EventLog, EventView, visible_to

CATCH_UP_LIMIT = 500
Send = Callable[[EventView], Awaitable[None]]


@dataclass(frozen=True)
class EventPage:
    items: list[EventView]
    last_id: int  # the cursor to resume from
    more: bool  # the page is full: ask again from last_id


class Live:
    def __init__(self, log: EventLog, *, limit: int = CATCH_UP_LIMIT) -> None:
        self.log = log
        self.limit = limit

    def since(self, viewer: Viewer, after: int) -> list[EventView]:
        """Up to `limit` events after `after` that this viewer may see, oldest first."""
        return self.log.since(after, agent_id=viewer.agent.id, team_ids=list(viewer.team_ids),
                              see_all=viewer.sees_all, limit=self.limit)

    def page(self, viewer: Viewer, after: int) -> EventPage:
        items = self.since(viewer, after)
        return EventPage(items, items[-1].id if items else after, len(items) == self.limit)

    def stream(self, viewer: Viewer, after: int, send: Send) -> LiveStream:
        return LiveStream(self, viewer, after, send)


class LiveStream:
    """One connection's position: `seen` is the highest event id known (visible or not), `sent` the
    highest sent."""

    def __init__(self, live: Live, viewer: Viewer, after: int, send: Send) -> None:
        self.live, self.viewer, self._send = live, viewer, send
        self.seen = self.sent = after
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
        while True:
            # The table reads are indexed and quick, but blocking: off the event loop.
            top = await asyncio.to_thread(self.live.log.last_id)
            missed = await asyncio.to_thread(self.live.since, self.viewer, self.sent)
            for event in missed:
                if until is not None and event.id >= until:
                    return
                await self._deliver_one(event)
            if len(missed) < self.live.limit:
                self.seen = max(self.seen, top if until is None else min(top, until - 1))
                return

    async def deliver(self, batch: list[EventView]) -> None:
        """A pushed batch: every stream gets every event; send the visible ones not sent yet. An
        ephemeral signal (someone typing) is sent if visible, and moves no cursor."""
        for event in batch:
            if event.ephemeral and self._visible(event):
                await self._send(event)
        for event in sorted((e for e in batch if not e.ephemeral), key=lambda e: e.id):
            if event.id <= self.seen:
                continue
            if event.id > self.seen + 1:
                await self.catch_up(until=event.id)
            self.seen = event.id
            if self._visible(event):
                await self._deliver_one(event)

    def _visible(self, event: EventView) -> bool:
        return visible_to(event, agent_id=self.viewer.agent.id, team_ids=list(self.viewer.team_ids),
                          see_all=self.viewer.sees_all)

    async def _deliver_one(self, event: EventView) -> None:
        if event.id > self.sent:
            await self._send(event)
            self.sent = event.id
        self.seen = max(self.seen, event.id)
