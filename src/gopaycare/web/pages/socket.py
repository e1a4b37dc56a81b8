"""The console's live events: the agents' event stream (desk/live.py), authenticated by the page's
session cookie instead of a token in the URL (no script can read the HttpOnly cookie).

A browser sends cookies with any site's WebSocket handshake, so the Origin must be this host
(cross-site WebSocket hijacking). The stream itself is the one `/api/v1/events/ws` serves: same
viewer, same delivery-time access checks, closed (4401) once the session is revoked.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ...container import Services
from ...desk.events import EventView
from ...desk.live import AccessEnded
from ...platform.errors import DomainError, PermissionDenied
from ..schemas.events import EventOut
from .session import SESSION_COOKIE

router = APIRouter(prefix="/console")


def same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin", "")
    host = websocket.headers.get("host", "")
    return bool(host) and origin in (f"http://{host}", f"https://{host}")


@router.websocket("/events/ws")
async def console_events(websocket: WebSocket) -> None:
    svc: Services = websocket.app.state.services
    token = websocket.cookies.get(SESSION_COOKIE, "")[:200]
    after = websocket.query_params.get("after", "0")
    if not same_origin(websocket) or not after.isdecimal() or len(after) > 18:
        await websocket.close(code=4403, reason="forbidden")
        return
    try:
        agent = await run_in_threadpool(svc.agents.authenticate, token)
        if not agent.can("customer.view"):
            raise PermissionDenied("not allowed")
        viewer = await run_in_threadpool(svc.desk.viewer, agent)
    except DomainError as exc:
        await websocket.close(code=4401, reason=exc.code)
        return
    await websocket.accept()

    async def send(event: EventView) -> None:
        await websocket.send_json(EventOut.of(event).model_dump(mode="json"))

    def still_valid() -> bool:
        try:
            svc.agents.authenticate(token)
        except DomainError:
            return False
        return True

    stream = svc.desk.live.stream(viewer, int(after), send)
    stream.recheck = still_valid
    unsubscribe = svc.hub.subscribe(stream.listener())  # before the stream reads the table
    try:
        await stream.run()
    except WebSocketDisconnect:
        pass
    except AccessEnded:
        await websocket.close(code=4401, reason="token_invalid")
    finally:
        unsubscribe()
