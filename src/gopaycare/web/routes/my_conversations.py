"""The customer's own conversations (what the GoPay app's chat screen and the web widget read): the
messages sent to them and theirs, by cursor, and the read receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import CustomerId, Svc
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
def my_conversations(customer_id: CustomerId, svc: Svc,
                     limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ConversationsOut:
    conversations = svc.desk.customer_side.conversations(customer_id, limit=limit)
    return ConversationsOut(items=[ConversationOut.of(c) for c in conversations])


@router.get("/{conversation_id}/messages")
def my_messages(conversation_id: Id, customer_id: CustomerId, svc: Svc, after: Cursor = 0,
                limit: Annotated[int, Query(ge=1, le=100)] = 50) -> CustomerMessagesOut:
    """Messages after sequence number `after` (0: from the start), in order; poll with the last seen
    (or hold the live socket, `/api/v1/me/chat/ws`)."""
    items = svc.desk.customer_side.messages(customer_id, conversation_id, after=after, limit=limit)
    return CustomerMessagesOut(items=[CustomerMessageOut.of(m) for m in items],
                               last_seq=items[-1].seq if items else after)


@router.post("/{conversation_id}/read")
def mark_read(conversation_id: Id, body: ReadIn, customer_id: CustomerId, svc: Svc) -> ReadOut:
    """The app has shown the conversation up to sequence number `up_to`: the replies up to it are read."""
    return ReadOut(read=svc.desk.customer_side.mark_read(customer_id, conversation_id, body.up_to))
