"""How a WebSocket proves who opened it, without a lasting credential in its URL.

Every socket (the agents' event stream, the customers' and visitors' live chat) takes one of:

- the `Authorization: Bearer …` header (apps and servers; a customer going on from a visitor's
  chat adds `X-Visitor-Token: gpv.…`);
- a single-use ticket, `?ticket=gpt_…`, that an authenticated POST gave out moments before
  (browsers, which cannot set a socket's headers; identity/socket_tickets.py);
- or, with neither, the first message after the socket opens: `{"type": "auth", "token": …,
  "visitor_token": …}` within GOPAYCARE_SOCKET_AUTH_TIMEOUT_SECONDS.

A token in the query (`?token=`, `?visitor_token=`) is refused with close code 1008 (policy
violation) before anything is checked: URLs end up in access logs, proxies and browser history,
and a lasting credential there outlives the socket. A credential that does not work closes the
socket with 4401 (and the error's code as the reason), as before.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ..container import Services
from ..identity.visitors import PREFIX as VISITOR_PREFIX
from ..platform.errors import DomainError, Unauthenticated, ValidationFailed

POLICY_VIOLATION = 1008
REFUSED_IN_URL = ("token", "visitor_token", "access_token")
MAX_AUTH_FRAME = 2_048


@dataclass(frozen=True)
class SocketCredential:
    """Who opened the socket: the keyed hash of an agent's or customer's bearer token, and/or a
    verified visitor id (both: a customer going on in the conversation they began as a visitor)."""

    token_hash: str | None
    visitor_id: str | None


@dataclass(frozen=True)
class Opened:
    credential: SocketCredential
    accepted: bool  # the first-message form accepts the socket before it can read the message


# The query parameter a socket route declares for its ticket (routes take no other credential there).
TicketParam = Annotated[str | None, Query(max_length=200, description="a single-use ticket from the socket's "
                                                                       "POST …/ws/tickets")]


async def authenticate_socket(websocket: WebSocket, svc: Services, audience: str,
                              ticket: str | None) -> Opened | None:
    """The socket's credential, or None once the socket is closed for the lack of one."""
    if any(name in websocket.query_params for name in REFUSED_IN_URL):
        # Refused before anything is looked up (an undeclared name is refused by web/params.py too).
        await websocket.close(code=POLICY_VIOLATION, reason="token_in_url")
        return None
    header = websocket.headers.get("authorization")
    try:
        if ticket is not None:
            redeemed = await run_in_threadpool(svc.socket_tickets.redeem, audience, ticket)
            return Opened(SocketCredential(redeemed.token_hash, redeemed.visitor_id), accepted=False)
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("a bearer token is required", code="token_missing")
            credential = await run_in_threadpool(resolve, svc, token.strip(), websocket.headers.get("x-visitor-token"))
            return Opened(credential, accepted=False)
    except DomainError as exc:
        await websocket.close(code=close_code(exc), reason=exc.code)
        return None
    return await _first_message(websocket, svc)


def close_code(exc: DomainError) -> int:
    """4000 + the HTTP status the same refusal answers elsewhere (4401, 4404, 4422); 1008 for a
    socket that never said who it is."""
    return POLICY_VIOLATION if exc.code == "auth_required" else 4000 + exc.http_status


async def _first_message(websocket: WebSocket, svc: Services) -> Opened | None:
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), svc.settings.socket_auth_timeout_seconds)
    except TimeoutError:
        await websocket.close(code=POLICY_VIOLATION, reason="auth_timeout")
        return None
    except (WebSocketDisconnect, KeyError):  # gone, or sent bytes instead of text
        await _close_quietly(websocket, POLICY_VIOLATION, "auth_required")
        return None
    try:
        token, visitor_token = _auth_frame(raw)
        credential = await run_in_threadpool(resolve, svc, token, visitor_token)
    except DomainError as exc:
        await websocket.close(code=close_code(exc), reason=exc.code)
        return None
    return Opened(credential, accepted=True)


def _auth_frame(raw: str) -> tuple[str, str | None]:
    required = ValidationFailed('the first message is {"type": "auth", "token": …}', code="auth_required")
    if len(raw) > MAX_AUTH_FRAME:
        raise required
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise required from None
    if not isinstance(data, dict) or data.get("type") != "auth" or not isinstance(data.get("token"), str) \
            or not isinstance(data.get("visitor_token", ""), str | None):
        raise required
    return data["token"], data.get("visitor_token")


def resolve(svc: Services, token: str, visitor_token: str | None) -> SocketCredential:
    """A raw token (and a visitor token beside it) as the socket keeps it (blocking)."""
    if token.startswith(VISITOR_PREFIX + "."):
        if visitor_token:
            raise ValidationFailed("a visitor token goes with a customer's session token", field="visitor_token")
        return SocketCredential(None, svc.visitors.verify(token))
    visitor_id = svc.visitors.verify(visitor_token) if visitor_token else None
    return SocketCredential(svc.identity.hasher.keyed(token), visitor_id)


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason)
    except RuntimeError:  # already closed by the client
        pass
