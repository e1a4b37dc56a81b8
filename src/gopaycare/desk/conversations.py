"""Messages in and out: one model for every channel.

`receive` takes a customer's message from any channel (chat, email, WhatsApp...). It is
idempotent on the provider's message id, so a webhook delivered twice stores one message. It
finds or opens the conversation and its ticket, reopens a waiting ticket, and starts or resumes
the SLA clocks. `reply` and `note` are the agent's side: a reply goes out on the conversation's
own channel after commit; a note stays internal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.db import on_commit
from ..platform.errors import Conflict, ValidationFailed
from ..platform.i18n import LANGUAGES
from .access import Viewer, access_ticket
from .contacts import resolve
from .context import DeskContext
from .models import CHANNELS, PRIORITIES, SERVICE_AREAS, Conversation, Message, Ticket

# A message to a solved ticket within this time reopens it; later it starts a new ticket.
REOPEN_WINDOW = timedelta(days=7)
MAX_BODY = 20_000


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message_id: int
    ticket_id: int
    duplicate: bool = False
    new_ticket: bool = False


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("the message is empty", field="body")
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"the message is longer than {MAX_BODY} characters", field="body")
    return body


class Conversations:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    # ---------------------------------------------------------------- inbound

    def receive(
        self, *, channel: str, identity_kind: str, identity_value: str, body: str,
        provider_message_id: str | None = None, thread: str | None = None, name: str | None = None,
        language: str | None = None, attachments: list[dict[str, Any]] | None = None, area: str | None = None,
        priority: str = "normal", subject: str | None = None,
    ) -> Received:
        if channel not in CHANNELS:
            raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        if area is not None and area not in SERVICE_AREAS:
            raise ValidationFailed("unknown service area", field="area")
        if priority not in PRIORITIES:
            raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
        body = _check_body(body)
        if language is not None and language not in LANGUAGES:
            language = None
        if provider_message_id and (seen := self._seen(channel, provider_message_id)) is not None:
            return seen
        tier = self.ctx.customer_tier(identity_kind, identity_value)
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.transaction() as s:
                contact = resolve(s, identity_kind, identity_value, now, name=name, language=language)
                conversation = self._open_conversation(s, contact.id, channel, thread, now)
                ticket, new_ticket = self._ticket_for(s, conversation, now, body=body, area=area, priority=priority,
                                                      language=language or contact.language or "zh-CN", tier=tier,
                                                      subject=subject)
                message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="in",
                                  author_type="contact", author_id=contact.id, body=body,
                                  attachments=attachments or [], channel=channel,
                                  provider_message_id=provider_message_id, delivery_status="received",
                                  created_at=now)
                s.add(message)
                conversation.last_message_at = now
                ticket.updated_at = now
                s.flush()
                self.ctx.after_customer_message(s, ticket, message, now, new_ticket=new_ticket)
                return Received(conversation.id, message.id, ticket.id, new_ticket=new_ticket)
        except IntegrityError:
            # The same provider message arrived twice at once: the other copy won.
            if provider_message_id and (seen := self._seen(channel, provider_message_id)) is not None:
                return seen
            raise

    def _seen(self, channel: str, provider_message_id: str) -> Received | None:
        with self.ctx.db.read() as s:
            row = s.execute(select(Message.conversation_id, Message.id, Message.ticket_id).where(
                Message.channel == channel, Message.provider_message_id == provider_message_id)).one_or_none()
        return Received(row[0], row[1], row[2], duplicate=True) if row else None

    def _open_conversation(self, s: Session, contact_id: int, channel: str, thread: str | None,
                           now: datetime) -> Conversation:
        stmt = select(Conversation).where(Conversation.contact_id == contact_id, Conversation.channel == channel,
                                          Conversation.status == "open")
        if thread:
            stmt = stmt.where(Conversation.channel_thread == thread)
        conversation = s.execute(stmt.order_by(Conversation.id.desc()).limit(1)).scalar_one_or_none()
        if conversation is None:
            conversation = Conversation(contact_id=contact_id, channel=channel, channel_thread=thread, status="open",
                                        handled_by="bot", created_at=now)
            s.add(conversation)
            s.flush()
        return conversation

    @staticmethod
    def _locked(s: Session, ticket_id: int) -> Ticket | None:
        # The same lock agents take: a customer message and a status change never interleave.
        return s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).scalar_one_or_none()

    def _ticket_for(self, s: Session, conversation: Conversation, now: datetime, *, body: str, area: str | None,
                    priority: str, language: str, tier: str, subject: str | None) -> tuple[Ticket, bool]:
        ticket = self._locked(s, conversation.ticket_id) if conversation.ticket_id else None
        while ticket is not None and ticket.merged_into_id is not None:
            ticket = self._locked(s, ticket.merged_into_id)
        if ticket is not None:
            reopenable = ticket.status == "solved" and ticket.solved_at and now - ticket.solved_at <= REOPEN_WINDOW
            if ticket.status not in ("solved", "closed") or reopenable:
                return ticket, False
        ticket = Ticket(contact_id=conversation.contact_id, subject=(subject or body.splitlines()[0])[:200],
                        area=area or "general", priority=priority, status="new", channel=conversation.channel,
                        language=language, customer_tier=tier, tags=[], custom_fields={}, created_at=now,
                        updated_at=now, sla_state="none")
        s.add(ticket)
        s.flush()
        conversation.ticket_id = ticket.id
        return ticket, True

    # ---------------------------------------------------------------- outbound

    def reply(self, viewer: Viewer, ticket_id: int, body: str, *, internal: bool = False) -> int:
        """An agent's reply on the conversation's own channel, or an internal note."""
        body = _check_body(body)
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if ticket.status in ("closed", "merged"):
                raise Conflict(f"the ticket is {ticket.status}", code="ticket_closed", status=ticket.status)
            conversation = s.execute(select(Conversation).where(Conversation.ticket_id == ticket.id)
                                     .order_by(Conversation.id.desc()).limit(1)).scalar_one_or_none()
            if conversation is None:
                raise Conflict("this ticket has no conversation to answer on", code="no_conversation")
            message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="out",
                              author_type="agent", author_id=viewer.agent.id, body=body, internal=internal,
                              attachments=[], channel=conversation.channel,
                              delivery_status="internal" if internal else "pending", created_at=now)
            s.add(message)
            ticket.updated_at = now
            if not internal:
                conversation.handled_by = "human"
                conversation.last_message_at = now
            s.flush()
            audit.record(s, at=now, actor=Actor.agent(viewer.agent.id),
                         action="ticket.note_added" if internal else "ticket.replied", subject_type="ticket",
                         subject_id=ticket.id, message_id=message.id)
            self.ctx.after_agent_message(s, ticket, message, now)
            if not internal:
                message_id = message.id
                on_commit(s, lambda: self.ctx.dispatch_outbound(message_id))
            return message.id

    def messages(self, viewer: Viewer, ticket_id: int, *, include_internal: bool = True) -> list[Message]:
        with self.ctx.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            stmt = select(Message).where(Message.ticket_id == ticket_id)
            if not include_internal:
                stmt = stmt.where(Message.internal.is_(False))
            return list(s.scalars(stmt.order_by(Message.id)))
