"""The customer's own conversations as the app's chat screen and the web widget read them."""

from __future__ import annotations

from pydantic import Field

from ...desk.customer_side import CustomerConversation, CustomerMessage
from .attachments import CUSTOMER_PATH, AttachmentOut, files_of
from .common import Id, In, Out, Timestamp


class ConversationOut(Out):
    id: int
    channel: str
    status: str
    last_message_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, c: CustomerConversation) -> ConversationOut:
        return cls(id=c.id, channel=c.channel, status=c.status, last_message_at=c.last_message_at,
                   created_at=c.created_at)


class ConversationsOut(Out):
    items: list[ConversationOut]


class CustomerMessageOut(Out):
    id: int
    conversation_id: int
    seq: int = Field(description="its place in the conversation; ask for messages after the last one seen")
    client_id: str | None = Field(description="the id the app gave its own message (matches the ack)")
    direction: str
    author_type: str
    body: str
    attachments: list[AttachmentOut]
    delivery_status: str
    created_at: Timestamp

    @classmethod
    def of(cls, m: CustomerMessage) -> CustomerMessageOut:
        return cls(id=m.id, conversation_id=m.conversation_id, seq=m.seq, client_id=m.client_id,
                   direction=m.direction, author_type=m.author_type,
                   body=m.body, attachments=files_of(m.attachments, CUSTOMER_PATH), delivery_status=m.delivery_status,
                   created_at=m.created_at)


class CustomerMessagesOut(Out):
    items: list[CustomerMessageOut]
    last_seq: int = Field(description="the cursor for the next call")


class ReadIn(In):
    up_to: Id = Field(description="the sequence number of the last message shown")


class ReadOut(Out):
    read: int
