"""A customer's own conversations, as their app (or the chat widget) reads them.

A customer sees their public messages: what they wrote, and the replies that were sent to them
(an agent's, the assistant's, the system's), never the agents' internal notes, a reply still
waiting in the outbox, nor anyone else's conversation. Those are exactly the messages with a
sequence number (desk/sequence.py); reading is by that number (the last one seen), so a
reconnecting app gets exactly what it missed, in order, once. The app says what it has shown
(`mark_read`), which is the chat channel's read receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..platform.db import Database
from ..platform.errors import NotFound, ValidationFailed
from ..platform.outbox import Outbox
from .models import Contact, Conversation, Message

MAX_PAGE = 100


@dataclass(frozen=True)
class CustomerMessage:
    id: int
    conversation_id: int
    seq: int  # its place in the conversation as the customer sees it
    client_id: str | None  # the id the customer's app gave its own message, to match its ack
    direction: str  # in: the customer's; out: to the customer
    author_type: str  # contact | agent | bot | system
    body: str
    attachments: list[dict[str, object]]
    delivery_status: str
    created_at: datetime


@dataclass(frozen=True)
class CustomerConversation:
    id: int
    channel: str
    status: str
    last_message_at: datetime | None
    created_at: datetime


CLIENT_PREFIX = "app:"  # provider message ids of what a customer's app sent (web/routes/customer_live.py)


def client_message_id(customer_id: int, client_id: str) -> str:
    """The desk's provider message id for a message the app sent with `client_id`: a resend after a
    reconnect finds it and is stored once."""
    return f"{CLIENT_PREFIX}{customer_id}:{client_id}"


def _client_id(m: Message) -> str | None:
    pid = m.provider_message_id or ""
    return pid.split(":", 2)[2] if m.direction == "in" and pid.startswith(CLIENT_PREFIX) else None


def customer_message(m: Message) -> CustomerMessage:
    assert m.seq is not None
    return CustomerMessage(m.id, m.conversation_id, m.seq, _client_id(m), m.direction, m.author_type, m.body,
                           list(m.attachments), m.delivery_status, m.created_at)


class CustomerSide:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def conversations(self, customer_id: int, *, limit: int = 20) -> list[CustomerConversation]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit is 1 to {MAX_PAGE}", field="limit")
        with self.db.read() as s:
            rows = s.scalars(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                             .where(Contact.customer_id == customer_id)
                             .order_by(Conversation.id.desc()).limit(limit))
            return [CustomerConversation(c.id, c.channel, c.status, c.last_message_at, c.created_at) for c in rows]

    def messages(self, customer_id: int, conversation_id: int, *, after: int = 0,
                 limit: int = 50) -> list[CustomerMessage]:
        """What the customer sees of the conversation after sequence number `after`, in order."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit is 1 to {MAX_PAGE}", field="limit")
        if not 0 <= after < 2**63:
            raise ValidationFailed("after is a sequence number", field="after")
        with self.db.read() as s:
            self._own(s, customer_id, conversation_id)
            rows = s.scalars(select(Message).where(Message.conversation_id == conversation_id, Message.seq > after)
                             .order_by(Message.seq).limit(limit))
            return [customer_message(m) for m in rows]

    def mark_read(self, customer_id: int, conversation_id: int, up_to: int) -> int:
        """The customer has seen the conversation up to sequence number `up_to`: the chat replies up
        to it are read (a receipt through the outbox, like a provider's). Returns how many changed."""
        if not 0 < up_to < 2**63:
            raise ValidationFailed("up_to is a sequence number", field="up_to")
        with self.db.read() as s:
            conversation = self._own(s, customer_id, conversation_id)
            if conversation.channel != "chat":
                return 0  # other channels' providers send their own receipts
            provider_ids = list(s.scalars(select(Message.provider_message_id).where(
                Message.conversation_id == conversation_id, Message.seq <= up_to, Message.direction == "out",
                Message.delivery_status.in_(("sent", "delivered")),
                Message.provider_message_id.is_not(None))))
        return sum(self.outbox.record_receipt("chat", pid, "read") == "read" for pid in provider_ids if pid)

    def check_own(self, customer_id: int, conversation_id: int) -> None:
        """NotFound unless the conversation is this customer's."""
        with self.db.read() as s:
            self._own(s, customer_id, conversation_id)

    @staticmethod
    def _own(s, customer_id: int, conversation_id: int) -> Conversation:  # noqa: ANN001 - a session
        conversation = s.execute(select(Conversation).join(Contact, Contact.id == Conversation.contact_id).where(
            Conversation.id == conversation_id, Contact.customer_id == customer_id)).scalar_one_or_none()
        if conversation is None:
            # Another customer's conversation answers exactly like one that does not exist.
            raise NotFound("conversation not found", conversation_id=conversation_id)
        return conversation
