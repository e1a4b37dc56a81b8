"""A customer's own conversations, as their app (or the chat widget) reads them.

A customer sees their public messages: what they wrote, and the replies that were sent to them
(an agent's, the assistant's, the system's), never the agents' internal notes, a reply still
waiting in the outbox, nor anyone else's conversation. Those are exactly the messages with a
sequence number (desk/sequence.py); reading is by that number (the last one seen), so a
reconnecting app gets exactly what it missed, in order, once. The app says what it has shown
(`mark_read`), which is the chat channel's read receipt.

The one reading is a `Party`: a logged-in customer (their conversations on every channel), or an
anonymous web visitor (identity/visitors.py), who owns exactly the web conversations opened under
their visitor id (the conversation's thread), even after they identified: a visitor token never
opens the customer's other conversations. A customer who logs in after chatting as a visitor, and
holds both tokens, is both: they read as the customer and write on as the visitor, in the same
web conversation (`Conversations.claim` joined the visitor's contact to theirs first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
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
VISITOR_THREAD = "visitor:"  # the thread of a web visitor's conversation: "visitor:<visitor id>"
# The channels whose replies are read in the conversation itself, by the app or the web widget.
OWN_CHANNELS = ("chat", "web")


@dataclass(frozen=True)
class Party:
    """Who reads a conversation: a logged-in customer, an anonymous web visitor, or a customer going
    on with what they wrote as a visitor (both)."""

    customer_id: int | None = None
    visitor_id: str | None = None

    def __post_init__(self) -> None:
        if self.customer_id is None and self.visitor_id is None:
            raise ValueError("a party is a customer, a visitor or both")

    @classmethod
    def customer(cls, customer_id: int) -> Party:
        return cls(customer_id=customer_id)

    @classmethod
    def visitor(cls, visitor_id: str) -> Party:
        return cls(visitor_id=visitor_id)

    @property
    def thread(self) -> str | None:
        """A visitor's conversations are on the web channel under this thread."""
        return f"{VISITOR_THREAD}{self.visitor_id}" if self.visitor_id is not None else None

    @property
    def key(self) -> str:
        """Whose app ids these are: the visitor's while they write as one (on the web conversation)."""
        return f"v{self.visitor_id}" if self.visitor_id is not None else str(self.customer_id)


def client_message_id(party: Party, client_id: str) -> str:
    """The desk's provider message id for a message the app sent with `client_id`: a resend after a
    reconnect finds it and is stored once."""
    return f"{CLIENT_PREFIX}{party.key}:{client_id}"


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

    def conversations(self, party: Party, *, limit: int = 20) -> list[CustomerConversation]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit is 1 to {MAX_PAGE}", field="limit")
        with self.db.read() as s:
            rows = s.scalars(_owned(party).order_by(Conversation.id.desc()).limit(limit))
            return [CustomerConversation(c.id, c.channel, c.status, c.last_message_at, c.created_at) for c in rows]

    def messages(self, party: Party, conversation_id: int, *, after: int = 0,
                 limit: int = 50) -> list[CustomerMessage]:
        """What the customer sees of the conversation after sequence number `after`, in order."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit is 1 to {MAX_PAGE}", field="limit")
        if not 0 <= after < 2**63:
            raise ValidationFailed("after is a sequence number", field="after")
        with self.db.read() as s:
            self._own(s, party, conversation_id)
            rows = s.scalars(select(Message).where(Message.conversation_id == conversation_id, Message.seq > after)
                             .order_by(Message.seq).limit(limit))
            return [customer_message(m) for m in rows]

    def mark_read(self, party: Party, conversation_id: int, up_to: int) -> int:
        """The customer has seen the conversation up to sequence number `up_to`: the chat replies up
        to it are read (a receipt through the outbox, like a provider's). Returns how many changed."""
        if not 0 < up_to < 2**63:
            raise ValidationFailed("up_to is a sequence number", field="up_to")
        with self.db.read() as s:
            conversation = self._own(s, party, conversation_id)
            if conversation.channel not in OWN_CHANNELS:
                return 0  # other channels' providers send their own receipts
            provider_ids = list(s.scalars(select(Message.provider_message_id).where(
                Message.conversation_id == conversation_id, Message.seq <= up_to, Message.direction == "out",
                Message.delivery_status.in_(("sent", "delivered")),
                Message.provider_message_id.is_not(None))))
            channel = conversation.channel
        return sum(self.outbox.record_receipt(channel, pid, "read") == "read" for pid in provider_ids if pid)

    def bot_answers(self, party: Party, conversation_id: int | None) -> bool:
        """Whether the assistant answers what the party writes next: no person has taken the
        conversation (a closed one is followed by a new one, which the assistant answers)."""
        if conversation_id is None:
            return True
        with self.db.read() as s:
            conversation = self._own(s, party, conversation_id)
            return conversation.status != "open" or conversation.handled_by == "bot"

    def check_own(self, party: Party, conversation_id: int, *, after: int = 0) -> None:
        """NotFound unless the conversation is this customer's (or this visitor's); Conflict when
        `after` is beyond its last sequence number (an app that kept a cursor it cannot have had would
        wait, silently, for messages that never come: it is told where the conversation is)."""
        with self.db.read() as s:
            conversation = self._own(s, party, conversation_id)
        if after > conversation.last_seq:
            raise Conflict(f"the conversation's last message is {conversation.last_seq}", code="cursor_ahead",
                           last_seq=conversation.last_seq)

    @staticmethod
    def _own(s, party: Party, conversation_id: int) -> Conversation:  # noqa: ANN001 - a session
        conversation = s.execute(_owned(party).where(Conversation.id == conversation_id)).scalar_one_or_none()
        if conversation is None:
            # Another customer's conversation answers exactly like one that does not exist.
            raise NotFound("conversation not found", conversation_id=conversation_id)
        return conversation


def _owned(party: Party) -> Select[tuple[Conversation]]:
    """The conversations this party may read."""
    if party.customer_id is None:
        return select(Conversation).where(Conversation.channel == "web", Conversation.channel_thread == party.thread)
    return select(Conversation).join(Contact, Contact.id == Conversation.contact_id).where(
        Contact.customer_id == party.customer_id)
