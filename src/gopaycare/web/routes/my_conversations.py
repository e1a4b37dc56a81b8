"""The customer's own conversations (what the GoPay app's chat screen and the web widget read): the
messages sent to them and theirs, by cursor, and the read receipt. A web visitor's token
(`POST /api/v1/chat/visitors`) reads the visitor's own web conversations the same way."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import ChatParty, Svc
from ..schemas.common import Cursor, Id
from ..schemas.my_conversations import (
    ConversationOut,
    ConversationsOut,
    CustomerMessageOut,
    CustomerMessagesOut,
    ReadIn,
    ReadOut,
)

router = APIRouter(prefix="/api/v1/me/conversations", tags=["customer"])


@router.get("")
def my_conversations(party: ChatParty, svc: Svc,
                     limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ConversationsOut:
    conversations = svc.desk.customer_side.conversations(party, limit=limit)
    return ConversationsOut(items=[ConversationOut.of(c) for c in conversations])


@router.get("/{conversation_id}/messages")
def my_messages(conversation_id: Id, party: ChatParty, svc: Svc, after: Cursor = 0,
                limit: Annotated[int, Query(ge=1, le=100)] = 50) -> CustomerMessagesOut:
    """Messages after sequence number `after` (0: from the start), in order; poll with the last seen
    (or hold the live socket, `/api/v1/me/chat/ws`)."""
    items = svc.desk.customer_side.messages(party, conversation_id, after=after, limit=limit)
    return CustomerMessagesOut(items=[CustomerMessageOut.of(m) for m in items],
                               last_seq=items[-1].seq if items else after)


@router.post("/{conversation_id}/read")
def mark_read(conversation_id: Id, body: ReadIn, party: ChatParty, svc: Svc) -> ReadOut:
    """The app has shown the conversation up to sequence number `up_to`: the replies up to it are read."""
    return ReadOut(read=svc.desk.customer_side.mark_read(party, conversation_id, body.up_to))
