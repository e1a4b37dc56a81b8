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
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ...container import Services
from ...desk.customer_live import CustomerStream
from ...desk.customer_side import CustomerMessage, client_message_id
from ...platform.errors import DomainError, ValidationFailed
from ..schemas.common import Cursor, Id
from ..schemas.customer_live import FRAMES, ReadFrame, SayFrame
from ..schemas.my_conversations import CustomerMessageOut

router = APIRouter(prefix="/api/v1/me", tags=["customer"])
MAX_FRAME = 16_384  # characters: a message's body is at most 4,000


@router.websocket("/chat/ws")
async def chat_socket(websocket: WebSocket, token: str = "", conversation_id: Id | None = None,
                      after: Cursor = 0) -> None:
    svc: Services = websocket.app.state.services
    try:
        customer_id = await run_in_threadpool(svc.identity.authenticate, token)
        if conversation_id is not None:  # theirs, or it does not exist for them
            await run_in_threadpool(svc.desk.customer_side.check_own, customer_id, conversation_id)
    except DomainError as exc:
        await websocket.close(code=4401 if exc.http_status == 401 else 4404, reason=exc.code)
        return
    await websocket.accept()

    async def send(message: CustomerMessage) -> None:
        await websocket.send_json({"type": "message", **CustomerMessageOut.of(message).model_dump(mode="json")})

    stream = CustomerStream(svc.desk.customer_side, customer_id, conversation_id, after, send)
    # Subscribe before the stream reads the table, so nothing committed in between is missed.
    unsubscribe = svc.hub.subscribe(stream.listener())
    tasks = [asyncio.create_task(stream.run()), asyncio.create_task(_receive(websocket, svc, customer_id, stream))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if isinstance(task.exception(), Exception) and not isinstance(task.exception(), WebSocketDisconnect):
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        unsubscribe()


async def _receive(websocket: WebSocket, svc: Services, customer_id: int, stream: CustomerStream) -> None:
    while True:
        raw = await websocket.receive_text()
        try:
            frame = _parse(raw)
            if isinstance(frame, SayFrame):
                await _say(websocket, svc, customer_id, stream, frame)
            else:
                await _read(svc, customer_id, stream, frame)
        except DomainError as exc:
            await websocket.send_json({"type": "error", "code": exc.code, "message": str(exc)})


def _parse(raw: str) -> SayFrame | ReadFrame:
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


async def _say(websocket: WebSocket, svc: Services, customer_id: int, stream: CustomerStream,
               frame: SayFrame) -> None:
    phone = (await run_in_threadpool(svc.identity.get, customer_id)).phone
    provider_message_id = client_message_id(customer_id, frame.client_id)
    # A resend after a reconnect is stored once (its files are on the first copy): acknowledged again.
    stored = await run_in_threadpool(svc.desk.conversations.seen, "chat", provider_message_id)
    if stored is None:
        files = await run_in_threadpool(svc.files.check_unsent, customer_id, frame.attachments)
        stored = await run_in_threadpool(
            lambda: svc.assistant.chat(channel="chat", identity_kind="phone", identity_value=phone, body=frame.body,
                                       language=frame.language, provider_message_id=provider_message_id,
                                       attachments=files))
    if stream.follow(stored.conversation_id):
        await websocket.send_json({"type": "conversation", "conversation_id": stored.conversation_id})
    await websocket.send_json({"type": "ack", "client_id": frame.client_id, "conversation_id": stored.conversation_id})


async def _read(svc: Services, customer_id: int, stream: CustomerStream, frame: ReadFrame) -> None:
    if stream.conversation_id is not None:
        await run_in_threadpool(svc.desk.customer_side.mark_read, customer_id, stream.conversation_id, frame.up_to)
