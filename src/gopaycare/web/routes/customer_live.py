"""The customer's live chat over WebSocket (the GoPay app's chat screen, the web widget).

`/api/v1/me/chat/ws?token=…&conversation_id=…&after=N`: the customer's session token in the query
(browsers cannot set headers on a socket). The socket sends each message the customer sees of the
conversation after sequence number N, in order and once, as it happens (desk/customer_live.py);
the app sends `{"type": "message", "client_id", "body", "attachments": [id, …]}` (the ids of its own
uploads not sent yet, POST /api/v1/me/attachments; the body may be empty beside them), answered by an
ack, then the message and the assistant's or an agent's reply arrive on the stream (a resend with the
same client_id after a reconnect is stored once), and `{"type": "read", "up_to"}`. A bad frame is answered with an error
frame and changes nothing; the socket stays open. `GET /api/v1/me/conversations/{id}/messages`
is the fallback for clients that cannot hold a socket.

An anonymous web visitor connects the same way with their visitor token (`POST /api/v1/chat/visitors`)
as `token`: a session token never contains a ".", a visitor token starts "gpv.", so the logged-in
path is unchanged. A visitor who logs in goes on in the same conversation with both: the session as
`token`, the visitor token as `visitor_token` (a name the logs redact).

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
from ..deps import party_of
from ..schemas.common import Cursor, Id
from ..schemas.customer_live import FRAMES, Frame, ReadFrame, SayFrame, TypingFrame
from ..schemas.my_conversations import CustomerMessageOut

router = APIRouter(prefix="/api/v1/me", tags=["customer"])
MAX_FRAME = 16_384  # characters: a message's body is at most 4,000
# How a refused socket is closed: 4000 + the HTTP status the same refusal answers elsewhere.
CLOSE_CODES = {401: 4401, 404: 4404, 409: 4409, 422: 4422}


@router.websocket("/chat/ws")
async def chat_socket(websocket: WebSocket, token: str = "", visitor_token: str = "", conversation_id: Id | None = None,
                      after: Cursor = 0) -> None:
    svc: Services = websocket.app.state.services
    try:
        party = await run_in_threadpool(party_of, svc, token)
        if visitor_token:
            party = await run_in_threadpool(_going_on, svc, party, visitor_token)
        if conversation_id is not None:  # theirs, or it does not exist for them
            await run_in_threadpool(lambda: svc.desk.customer_side.check_own(party, conversation_id, after=after))
    except DomainError as exc:
        await websocket.close(code=CLOSE_CODES.get(exc.http_status, 4400), reason=exc.code)
        return
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


def _going_on(svc: Services, party: Party, visitor_token: str) -> Party:
    """A customer who chatted as a visitor before logging in goes on in the same conversation: only
    with both their session token and the visitor's token (the same browser)."""
    if party.customer_id is None:
        raise ValidationFailed("a visitor token goes with a customer's session token", field="visitor_token")
    visitor_id = svc.visitors.verify(visitor_token)
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
