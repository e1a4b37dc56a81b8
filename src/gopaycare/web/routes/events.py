"""The agents' real-time event stream over WebSocket, resumable from the last event id.

On connect (`/api/v1/events/ws?token=...&after=N`) the socket subscribes to live events first,
then sends what it missed since N from the events table, then streams; an event is never sent
twice (ids only go up) and never skipped (ids become visible in order, see desk/events.py).
The socket only delivers: the catch-up read is one indexed query, in a worker thread.
`GET /api/v1/events?after=N` answers the same catch-up over plain HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ...container import Services
from ...desk.access import Viewer
from ...desk.events import AsyncBridge, EventView, visible_to
from ...platform.errors import DomainError
from ..deps import services
from .desk import desk_viewer

router = APIRouter(prefix="/api/v1", tags=["events"])
CATCH_UP_LIMIT = 500


def _catch_up(svc: Services, viewer: Viewer, after: int) -> list[EventView]:
    return svc.desk.events.since(after, agent_id=viewer.agent.id, team_ids=list(viewer.team_ids),
                                 see_all=viewer.sees_all, limit=CATCH_UP_LIMIT)


@router.get("/events")
def events_since(after: int = 0, viewer: Viewer = Depends(desk_viewer()),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    items = _catch_up(svc, viewer, after)
    return {"items": [e.as_json() for e in items], "last_id": items[-1].id if items else after,
            "more": len(items) == CATCH_UP_LIMIT}


class _Stream:
    """One socket's position: `seen` is the highest event id known (visible or not), `sent` the
    highest sent. The hub pushes every event to every socket, so a jump in `seen` means a push is
    still on its way (ids are handed out in commit order): only then is the table read."""

    def __init__(self, websocket: WebSocket, svc: Services, viewer: Viewer, after: int) -> None:
        self.websocket, self.svc, self.viewer = websocket, svc, viewer
        self.seen = self.sent = after

    def _visible(self, event: EventView) -> bool:
        return visible_to(event, agent_id=self.viewer.agent.id, team_ids=list(self.viewer.team_ids),
                          see_all=self.viewer.sees_all)

    async def catch_up(self, until: int | None = None) -> None:
        while True:
            top = await run_in_threadpool(self.svc.desk.events.last_id)
            missed = await run_in_threadpool(_catch_up, self.svc, self.viewer, self.sent)
            for event in missed:
                if until is not None and event.id >= until:
                    return
                await self.send(event)
            if len(missed) < CATCH_UP_LIMIT:
                self.seen = max(self.seen, top if until is None else min(top, until - 1))
                return

    async def send(self, event: EventView) -> None:
        if event.id > self.sent:
            await self.websocket.send_json(event.as_json())
            self.sent = event.id
        self.seen = max(self.seen, event.id)

    async def deliver(self, batch: list[EventView]) -> None:
        for event in sorted(batch, key=lambda e: e.id):
            if event.id <= self.seen:
                continue
            if event.id > self.seen + 1:
                await self.catch_up(until=event.id)
            self.seen = event.id
            if self._visible(event):
                await self.send(event)


@router.websocket("/events/ws")
async def events_socket(websocket: WebSocket, token: str = "", after: int = 0) -> None:
    svc: Services = websocket.app.state.services
    try:
        agent = await run_in_threadpool(svc.agents.authenticate, token)
        if not agent.can("customer.view"):
            raise DomainError("not allowed", code="permission_denied")
        viewer = await run_in_threadpool(svc.desk.viewer, agent)
    except DomainError as exc:
        await websocket.close(code=4401, reason=exc.code)
        return
    await websocket.accept()
    queue: asyncio.Queue[list[EventView]] = asyncio.Queue()
    # Subscribe before reading the table, so nothing committed in between is lost.
    unsubscribe = svc.hub.subscribe(AsyncBridge(asyncio.get_running_loop(), queue))
    stream = _Stream(websocket, svc, viewer, after)
    try:
        await stream.catch_up()
        while True:
            await stream.deliver(await queue.get())
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()
