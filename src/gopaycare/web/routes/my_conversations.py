"""The customer's own conversations (what the GoPay app's chat screen and the web widget read): the
messages sent to them and theirs, by cursor, and the read receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from ...container import Services
from ...desk.customer_side import CustomerConversation, CustomerMessage
from ..deps import current_customer, services

router = APIRouter(prefix="/api/v1/me/conversations", tags=["customer"])
ID = Field(gt=0, lt=2**63)


class ConversationOut(BaseModel):
    id: int
    channel: str
    status: str
    last_message_at: datetime | None
    created_at: datetime


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    direction: str
    author_type: str
    body: str
    attachments: list[dict[str, Any]]
    delivery_status: str
    created_at: datetime


class ConversationsOut(BaseModel):
    items: list[ConversationOut]


class MessagesOut(BaseModel):
    items: list[MessageOut]
    last_id: int


class ReadIn(BaseModel):
    up_to: int = ID


class ReadOut(BaseModel):
    read: int


def _conversation(c: CustomerConversation) -> ConversationOut:
    return ConversationOut(id=c.id, channel=c.channel, status=c.status, last_message_at=c.last_message_at,
                           created_at=c.created_at)


def _message(m: CustomerMessage) -> MessageOut:
    return MessageOut(id=m.id, conversation_id=m.conversation_id, direction=m.direction, author_type=m.author_type,
                      body=m.body, attachments=m.attachments, delivery_status=m.delivery_status,
                      created_at=m.created_at)


@router.get("", response_model=ConversationsOut)
def my_conversations(limit: int = Query(20, ge=1, le=100), customer_id: int = Depends(current_customer),
                     svc: Services = Depends(services)) -> ConversationsOut:
    return ConversationsOut(items=[_conversation(c) for c in svc.desk.customer_side.conversations(customer_id,
                                                                                                limit=limit)])


@router.get("/{conversation_id}/messages", response_model=MessagesOut)
def my_messages(conversation_id: int = Path(gt=0, lt=2**63), after: int = Query(0, ge=0, lt=2**63),
                limit: int = Query(50, ge=1, le=100), customer_id: int = Depends(current_customer),
                svc: Services = Depends(services)) -> MessagesOut:
    """Messages after the id `after` (0: from the start), oldest first; poll with the last id seen."""
    items = svc.desk.customer_side.messages(customer_id, conversation_id, after=after, limit=limit)
    return MessagesOut(items=[_message(m) for m in items], last_id=items[-1].id if items else after)


@router.post("/{conversation_id}/read", response_model=ReadOut)
def mark_read(body: ReadIn, conversation_id: int = Path(gt=0, lt=2**63), customer_id: int = Depends(current_customer),
              svc: Services = Depends(services)) -> ReadOut:
    """The app has shown the conversation up to message `up_to`: the chat replies up to it are read."""
    return ReadOut(read=svc.desk.customer_side.mark_read(customer_id, conversation_id, body.up_to))
