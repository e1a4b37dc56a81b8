"""The agents' real-time event stream over WebSocket, resumable from the last event id.

On connect (`/api/v1/events/ws?token=...&after=N`) the socket subscribes to live events first,
then sends what it missed since N, then streams (desk/live.py: never twice, never a gap). This
route only accepts the socket and pumps. `GET /api/v1/events?after=N` answers the same catch-up
over plain HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ...container import Services
from ...desk.events import EventView
from ...desk.live import AccessEnded
from ...platform.errors import DomainError, PermissionDenied
from ..deps import DeskViewer, Svc
from ..schemas.common import Cursor
from ..schemas.events import EventOut, EventPage

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events")
def events_since(viewer: DeskViewer, svc: Svc, after: Cursor = 0) -> EventPage:
    page = svc.desk.live.page(viewer, after)
    return EventPage(items=[EventOut.of(e) for e in page.items], last_id=page.last_id, more=page.more)


@router.websocket("/events/ws")
async def events_socket(websocket: WebSocket, token: str = "", after: Cursor = 0) -> None:
    svc: Services = websocket.app.state.services
    try:
        agent = await run_in_threadpool(svc.agents.authenticate, token)
        if not agent.can("customer.view"):
            raise PermissionDenied("not allowed")
        viewer = await run_in_threadpool(svc.desk.viewer, agent)
        await run_in_threadpool(svc.desk.live.check_cursor, after)
    except DomainError as exc:
        # 4409: `after` is beyond the newest event (reconnect from GET /events' last_id); 4401 otherwise.
        await websocket.close(code=4409 if exc.code == "cursor_ahead" else 4401, reason=exc.code)
        return
    await websocket.accept()

    async def send(event: EventView) -> None:
        await websocket.send_json(EventOut.of(event).model_dump(mode="json"))

    stream = svc.desk.live.stream(viewer, after, send)
    stream.recheck = _token_check(svc, token)
    # Subscribe before the stream reads the table, so nothing committed in between is lost.
    unsubscribe = svc.hub.subscribe(stream.listener())
    try:
        await stream.run()
    except WebSocketDisconnect:
        pass
    except AccessEnded:  # deactivated or revoked while connected: stop at once
        await websocket.close(code=4401, reason="token_invalid")
    finally:
        unsubscribe()


def _token_check(svc: Services, token: str) -> Callable[[], bool]:
    """Whether the socket's token still works (blocking: the stream runs it off the event loop)."""

    def still_valid() -> bool:
        try:
            svc.agents.authenticate(token)
        except DomainError:
            return False
        return True

    return still_valid
