"""The customer's live chat over WebSocket (the GoPay app's chat screen, the web widget).

`/api/v1/me/chat/ws?conversation_id=…&after=N`, authenticated by the `Authorization` header, a
single-use ticket (`?ticket=…` from `POST /api/v1/me/chat/ws/tickets`: browsers cannot set a socket's
headers) or a first `{"type": "auth", "token": …}` message (web/socket_auth.py); a `?token=` is
refused. The socket sends each message the customer sees of the
conversation after sequence number N, in order and once, as it happens (desk/customer_live.py);
the app sends `{"type": "message", "client_id", "body", "attachments": [id, …]}` (the ids of its own
uploads not sent yet, POST /api/v1/me/attachments; the body may be empty beside them), answered by an
ack, then the message and the assistant's or an agent's reply arrive on the stream (a resend with the
same client_id after a reconnect is stored once), and `{"type": "read", "up_to"}`. A bad frame is answered with an error
frame and changes nothing; the socket stays open. `GET /api/v1/me/conversations/{id}/messages`
is the fallback for clients that cannot hold a socket.

An anonymous web visitor connects the same way with their visitor token (`POST /api/v1/chat/visitors`)
in place of a session token: a session token never contains a ".", a visitor token starts "gpv.", so
the logged-in path is unchanged. A visitor who logs in goes on in the same conversation with both:
the session as the token, the visitor token beside it (`X-Visitor-Token`, the auth message's
`visitor_token`, or the ticket's request body).

`{"type": "typing"}` says the customer is typing (passed on to the agents, at most one every 2 s,
never stored); `{"type": "typing", "who": "agent"}` comes when an agent is, and `{"type": "typing",
"who": "assistant"}` while the assistant works on its answer.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ...container import Services
from ...desk.customer_live import CustomerStream
from ...desk.customer_side import CustomerMessage, Party
from ...platform.audit import Actor
from ...platform.errors import DomainError, ValidationFailed
from ..cors import socket_origin_allowed
from ..deps import NO_STORE, BearerToken, ChatParty, Svc
from ..schemas.common import Cursor, Id
from ..schemas.customer_live import FRAMES, Frame, ReadFrame, SayFrame, TypingFrame
from ..schemas.my_conversations import CustomerMessageOut
from ..schemas.sessions import ChatTicketIn, SocketTicketOut
from ..socket_auth import SocketCredential, TicketParam, authenticate_socket, close_code

router = APIRouter(prefix="/api/v1/me", tags=["customer"])
MAX_FRAME = 16_384  # characters: a message's body is at most 4,000


@router.post("/chat/ws/tickets", status_code=201, dependencies=NO_STORE)
def chat_ticket(body: ChatTicketIn, party: ChatParty, token: BearerToken, svc: Svc) -> SocketTicketOut:
    """A single-use ticket that opens the chat socket within seconds (`?ticket=`): the web widget's way,
    since a browser cannot put the token in a socket's header."""
    if party.customer_id is None:  # a visitor's own token
        if body.visitor_token is not None:
            raise ValidationFailed("a visitor token goes with a customer's session token", field="visitor_token")
        ticket, ttl = svc.socket_tickets.issue("chat", visitor_id=party.visitor_id)
    else:
        visitor_id = svc.visitors.verify(body.visitor_token) if body.visitor_token is not None else None
        ticket, ttl = svc.socket_tickets.issue("chat", token=token, visitor_id=visitor_id)
    return SocketTicketOut(ticket=ticket, expires_in_seconds=ttl)


@router.websocket("/chat/ws")
async def chat_socket(websocket: WebSocket, conversation_id: Id | None = None, after: Cursor = 0,
                      ticket: TicketParam = None) -> None:
    svc: Services = websocket.app.state.services
    if not socket_origin_allowed(websocket, websocket.app.state.widget_origins):
        # A page on a site not listed in GOPAYCARE_WIDGET_ORIGINS (web/cors.py): refused before the
        # credential is looked at (a ticket stays unredeemed).
        await websocket.close(code=4403, reason="origin_not_allowed")
        return
    opened = await authenticate_socket(websocket, svc, "chat", ticket)
    if opened is None:
        return
    try:
        party = await run_in_threadpool(_party, svc, opened.credential)
        if conversation_id is not None:  # theirs, or it does not exist for them
            await run_in_threadpool(lambda: svc.desk.customer_side.check_own(party, conversation_id, after=after))
    except DomainError as exc:
        await websocket.close(code=close_code(exc), reason=exc.code)
        return
    if not opened.accepted:
        await websocket.accept()

    async def send(message: CustomerMessage) -> None:
        await websocket.send_json({"type": "message", **CustomerMessageOut.of(message).model_dump(mode="json")})

    async def agent_typing() -> None:
        await websocket.send_json({"type": "typing", "who": "agent"})

    stream = CustomerStream(svc.desk.customer_side, party, conversation_id, after, send, agent_typing)
    # Subscribe before the stream reads the table, so nothing committed in between is missed.
    unsubscribe = svc.hub.subscribe(stream.listener())
    tasks = [asyncio.create_task(stream.run()), asyncio.create_task(_receive(websocket, svc, party, stream))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if isinstance(task.exception(), Exception) and not isinstance(task.exception(), WebSocketDisconnect):
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        unsubscribe()


def _party(svc: Services, credential: SocketCredential) -> Party:
    if credential.token_hash is None:  # a visitor's own token
        return Party.visitor(credential.visitor_id or "")
    party = Party.customer(svc.identity.authenticate_hashed(credential.token_hash))
    if credential.visitor_id is not None:
        party = _going_on(svc, party, credential.visitor_id)
    return party


def _going_on(svc: Services, party: Party, visitor_id: str) -> Party:
    """A customer who chatted as a visitor before logging in goes on in the same conversation: only
    with both their session token and the visitor's token (the same browser)."""
    assert party.customer_id is not None
    svc.desk.conversations.claim("visitor", visitor_id, party.customer_id, actor=Actor.customer(party.customer_id))
    return Party(customer_id=party.customer_id, visitor_id=visitor_id)


async def _receive(websocket: WebSocket, svc: Services, party: Party, stream: CustomerStream) -> None:
    while True:
        raw = await websocket.receive_text()
        try:
            frame = _parse(raw)
            if isinstance(frame, SayFrame):
                await _say(websocket, svc, party, stream, frame)
            elif isinstance(frame, TypingFrame):
                await _typing(svc, stream)
            else:
                await _read(svc, party, stream, frame)
        except DomainError as exc:
            await websocket.send_json({"type": "error", "code": exc.code, "message": str(exc)})


def _parse(raw: str) -> Frame:
    if len(raw) > MAX_FRAME:
        raise ValidationFailed(f"a frame is at most {MAX_FRAME} characters")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise ValidationFailed("a frame is a JSON object") from None
    kind = FRAMES.get(data.get("type")) if isinstance(data, dict) and isinstance(data.get("type"), str) else None
    if kind is None:
        raise ValidationFailed(f"a frame's type is one of {', '.join(FRAMES)}")
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


async def _say(websocket: WebSocket, svc: Services, party: Party, stream: CustomerStream, frame: SayFrame) -> None:
    # A file without a word waits for a person (assistant/engine.py): no answer is coming then.
    if frame.body.strip() and await run_in_threadpool(svc.desk.customer_side.bot_answers, party,
                                                      stream.conversation_id):
        # The assistant's answer takes a moment (understanding, account checks): say it is coming.
        await websocket.send_json({"type": "typing", "who": "assistant"})
    answer = await run_in_threadpool(
        lambda: svc.chat_turn(party, frame.body, language=frame.language, client_id=frame.client_id,
                             attachments=frame.attachments))
    if stream.follow(answer.conversation_id):
        await websocket.send_json({"type": "conversation", "conversation_id": answer.conversation_id})
    await websocket.send_json({"type": "ack", "client_id": frame.client_id, "conversation_id": answer.conversation_id})


async def _typing(svc: Services, stream: CustomerStream) -> None:
    # The stream follows only the customer's own conversation (checked at connect, or the one their
    # message went to); before their first message there is nobody to tell.
    if stream.conversation_id is not None:
        await run_in_threadpool(svc.desk.typing.customer_typing, stream.conversation_id)


async def _read(svc: Services, party: Party, stream: CustomerStream, frame: ReadFrame) -> None:
    if stream.conversation_id is not None:
        await run_in_threadpool(svc.desk.customer_side.mark_read, party, stream.conversation_id, frame.up_to)
