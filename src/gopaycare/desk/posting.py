"""The one way to post a message on a ticket: the customer's, an agent's, the assistant's or the
system's; public or an internal note.

`do_post` runs inside the caller's unit of work: it stores the message on the conversation, writes
a public answer into the outbox (delivered on the conversation's own channel after commit), audits
what an agent wrote, and publishes `TicketOpened` (for a customer's first message) and
`MessagePosted`, whose handlers do the rest (SLA clocks, reopening, triggers, routing, search text,
the agents' stream). Receiving a customer's message (`conversations.Conversations.receive`), an
agent's reply, a macro's or a trigger's reply, the survey question and the assistant's turn all
come here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.bus import MessageBus
from ..platform.errors import ValidationFailed
from ..platform.outbox import Outbox
from ..platform.pii import personal_data
from ..vocabulary import COMMENT_THREAD_PREFIX
from .attachments import DeskAttachments, carries_files
from .domain_events import MessagePosted, TicketOpened
from .models import Contact, ContactIdentity, Conversation, Message, Ticket
from .sequence import stamp_new

MAX_BODY = 20_000
AUTHOR_TYPES = ("contact", "agent", "bot", "system")


@dataclass(frozen=True)
class Author:
    type: str  # contact | agent | bot | system
    id: int | None = None

    @classmethod
    def contact(cls, contact_id: int) -> Author:
        return cls("contact", contact_id)

    @classmethod
    def agent(cls, agent_id: int) -> Author:
        return cls("agent", agent_id)

    @classmethod
    def bot(cls) -> Author:
        return cls("bot")

    @classmethod
    def system(cls) -> Author:
        return cls("system")


def check_body(body: object, *, may_be_empty: bool = False) -> str:
    """`may_be_empty`: the message carries files, which may be all it says."""
    # NUL is never text anyone typed, and PostgreSQL cannot store it in a text column.
    text = body.replace("\x00", "").strip() if isinstance(body, str) else ""
    if not text and not may_be_empty:
        raise ValidationFailed("the message is empty", field="body")
    if len(text) > MAX_BODY:
        raise ValidationFailed(f"the message is longer than {MAX_BODY} characters", field="body")
    return text


def conversation_of(s: Session, ticket: Ticket) -> Conversation | None:
    """The conversation a ticket is answered on (its latest one)."""
    return s.execute(select(Conversation).where(Conversation.ticket_id == ticket.id)
                     .order_by(Conversation.id.desc()).limit(1)).scalar_one_or_none()


class Posting:
    def __init__(self, bus: MessageBus, outbox: Outbox, attachments: DeskAttachments) -> None:
        self.bus = bus
        self.outbox = outbox
        self.attachments = attachments

    def do_post(self, s: Session, ticket: Ticket, conversation: Conversation, author: Author, body: str, *,
                now: datetime, internal: bool = False, attachments: Sequence[dict[str, Any]] = (),
                provider_message_id: str | None = None, opens_ticket: bool = False,
                survey_answer: bool = False, public: bool = False) -> Message:
        """`public`: an answer posted where everyone reads it (a reply to a public comment), not to
        the customer alone; personal data is refused there."""
        if author.type not in AUTHOR_TYPES:
            raise ValueError(f"unknown author type {author.type!r}")
        body = check_body(body, may_be_empty=carries_files(attachments))
        if public:
            check_public(conversation, body)
        inbound = author.type == "contact"
        message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="in" if inbound else "out",
                          author_type=author.type, author_id=author.id, body=body, internal=internal,
                          attachments=list(attachments), channel=conversation.channel,
                          provider_message_id=provider_message_id,
                          delivery_status="received" if inbound else "internal" if internal else "pending",
                          created_at=now)
        if inbound and not internal:
            stamp_new(s, conversation, message, now)
        s.add(message)
        if attachments:
            s.flush()
            self.attachments.do_attach(s, message)
        ticket.updated_at = now
        if not internal:
            conversation.last_message_at = now
            if author.type == "agent":
                conversation.handled_by, ticket.handled_by_bot = "human", False
            elif author.type == "bot":
                ticket.handled_by_bot = True
        s.flush()
        if author.type == "agent":
            audit.record(s, at=now, actor=Actor.agent(author.id or 0),
                         action="ticket.note_added" if internal else "ticket.replied", subject_type="ticket",
                         subject_id=ticket.id, message_id=message.id)
        if not inbound and not internal:
            self._send(s, ticket, conversation, message, now, public=public)
        if opens_ticket:
            self.bus.publish(s, TicketOpened(ticket, now))
        self.bus.publish(s, MessagePosted(ticket, conversation, message, now, opened_ticket=opens_ticket,
                                          survey_answer=survey_answer))
        return message

    def _send(self, s: Session, ticket: Ticket, conversation: Conversation, message: Message, now: datetime, *,
              public: bool = False) -> None:
        contact = s.get(Contact, conversation.contact_id)
        self.outbox.queue(s, channel=conversation.channel, destination=_address(s, conversation),
                          thread=conversation.channel_thread, body=message.body,
                          purpose="public_reply" if public else "reply",
                          subject=ticket.subject if conversation.channel == "email" else None,
                          customer_id=contact.customer_id if contact else None, source=("message", message.id),
                          account_id=conversation.channel_account_id, language=ticket.language, now=now)


def check_public(conversation: Conversation, body: str) -> None:
    """A public answer needs a public side (a comment) and carries no personal data: a phone, ID or
    card number posted under a post is read by everyone, and cannot be taken back."""
    if not (conversation.channel_thread or "").startswith(COMMENT_THREAD_PREFIX):
        raise ValidationFailed("this conversation has no public side to answer on", field="public")
    found = personal_data(body)
    if found:
        raise ValidationFailed(f"a public reply must not carry personal data ({', '.join(found)}): "
                               "answer privately", field="body")


def _address(s: Session, conversation: Conversation) -> str:
    """Where a reply goes: the contact's address on the conversation's channel; a chat reply is read
    in the conversation itself."""
    if conversation.channel in ("chat", "web", "api"):
        return f"conversation:{conversation.id}"
    kind = "phone" if conversation.channel == "phone" else conversation.channel
    address = s.execute(select(ContactIdentity.value).where(
        ContactIdentity.contact_id == conversation.contact_id, ContactIdentity.kind == kind)
        .order_by(ContactIdentity.id)).scalars().first()
    return address or conversation.channel_thread or f"conversation:{conversation.id}"
