"""The agents' real-time event stream over WebSocket, resumable from the last event id.

On connect (`/api/v1/events/ws?after=N`, authenticated by the `Authorization` header, a ticket from
`POST /api/v1/events/ws/tickets` as `?ticket=`, or a first `{"type": "auth", "token": …}` message:
web/socket_auth.py; never `?token=`) the socket subscribes to live events first,
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
from ..deps import NO_STORE, BearerToken, CanViewCustomers, DeskViewer, Svc
from ..schemas.common import Cursor
from ..schemas.events import EventOut, EventPage
from ..schemas.sessions import SocketTicketOut
from ..socket_auth import TicketParam, authenticate_socket

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events")
def events_since(viewer: DeskViewer, svc: Svc, after: Cursor = 0) -> EventPage:
    page = svc.desk.live.page(viewer, after)
    return EventPage(items=[EventOut.of(e) for e in page.items], last_id=page.last_id, more=page.more)


@router.post("/events/ws/tickets", status_code=201, dependencies=NO_STORE)
def events_ticket(_: CanViewCustomers, token: BearerToken, svc: Svc) -> SocketTicketOut:
    """A single-use ticket that opens the event stream within seconds (`?ticket=`), for a browser,
    which cannot put the token in a socket's header."""
    ticket, ttl = svc.socket_tickets.issue("events", token=token)
    return SocketTicketOut(ticket=ticket, expires_in_seconds=ttl)


@router.websocket("/events/ws")
async def events_socket(websocket: WebSocket, after: Cursor = 0, ticket: TicketParam = None) -> None:
    svc: Services = websocket.app.state.services
    opened = await authenticate_socket(websocket, svc, "events", ticket)
    if opened is None:
        return
    token_hash = opened.credential.token_hash or ""
    try:
        agent = await run_in_threadpool(svc.agents.authenticate_hashed, token_hash)
        if not agent.can("customer.view"):
            raise PermissionDenied("not allowed")
        viewer = await run_in_threadpool(svc.desk.viewer, agent)
        await run_in_threadpool(svc.desk.live.check_cursor, after)
    except DomainError as exc:
        # 4409: `after` is beyond the newest event (reconnect from GET /events' last_id); 4401 otherwise.
        await websocket.close(code=4409 if exc.code == "cursor_ahead" else 4401, reason=exc.code)
        return
    if not opened.accepted:
        await websocket.accept()

    async def send(event: EventView) -> None:
        await websocket.send_json(EventOut.of(event).model_dump(mode="json"))

    stream = svc.desk.live.stream(viewer, after, send)
    stream.recheck = _token_check(svc, token_hash)
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


def _token_check(svc: Services, token_hash: str) -> Callable[[], bool]:
    """Whether the socket's token still works (blocking: the stream runs it off the event loop)."""

    def still_valid() -> bool:
        try:
            svc.agents.authenticate_hashed(token_hash)
        except DomainError:
            return False
        return True

    return still_valid
