"""The assistant's side of a conversation, as the desk sees it: its replies, what it learned about
the case, and handing the case to a person.

The assistant keeps its own memory (its tables) and calls these inside its unit of work, so a
turn is stored whole or not at all: the bot's replies go through `posting.do_post` (outbox, SLA,
search, events like any answer), what it learned through `changes.do_change` (so a trigger fires on
the bot's escalation exactly as on an agent's), and a handover posts the summary note, reopens and
routes the ticket and starts the customer's waiting clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.bus import MessageBus
from . import counters
from .changes import TicketChange, TicketChanges, lock_ticket
from .domain_events import HandedOver
from .lifecycle import Status
from .models import Conversation, Message, Ticket
from .posting import Author, Posting


class BotTurns:
    def __init__(self, posting: Posting, changes: TicketChanges, bus: MessageBus) -> None:
        self.posting = posting
        self.changes = changes
        self.bus = bus

    def lock(self, s: Session, ticket_id: int, conversation_id: int) -> tuple[Ticket, Conversation]:
        ticket = lock_ticket(s, ticket_id)
        conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            raise LookupError(f"conversation {conversation_id} not found")
        return ticket, conversation

    def do_reply(self, s: Session, ticket: Ticket, conversation: Conversation, texts: Sequence[str], *,
                 now: datetime, public: bool = False) -> list[Message]:
        return [self.posting.do_post(s, ticket, conversation, Author.bot(), text, now=now, public=public)
                for text in texts]

    def do_learn(self, s: Session, ticket: Ticket, change: TicketChange, *, now: datetime) -> None:
        """What the assistant found out about the case: area, priority, tags, fields, a transaction."""
        self.changes.do_change(s, ticket, change, actor=Actor.system(), now=now, reason="assistant")

    def do_mark_contained(self, conversation: Conversation) -> None:
        """The assistant answered the customer's question without a person (a later handover undoes it)."""
        if conversation.contained is None:
            conversation.contained = True

    def do_count_turn(self, s: Session, conversation: Conversation, *, intent: str | None, fallback: str | None,
                      now: datetime) -> None:
        """The turn on the dashboard's counters (the intent acted on, or why it fell back), in the
        unit of work that stores it: a turn rolled back counts nothing."""
        counters.count_turn(s, conversation, intent=intent, fallback=fallback, now=now)

    def do_follow_up(self, conversation: Conversation, email: str) -> None:
        """An agent's reply left unread on the chat is e-mailed here too (follow_ups.py): the customer
        was told so, when no person could answer at once."""
        conversation.follow_up_email = email

    def do_hand_over(self, s: Session, ticket: Ticket, conversation: Conversation, summary: str, *,
                     intent: str | None, now: datetime) -> None:
        """The agent gets the case with what the assistant learned, so no one asks twice."""
        conversation.handled_by, conversation.contained = "human", False
        note = self.posting.do_post(s, ticket, conversation, Author.system(), summary, now=now, internal=True)
        ticket.handled_by_bot = False
        if ticket.status in (Status.SOLVED, Status.PENDING_CUSTOMER):
            self.changes.do_change(s, ticket, TicketChange(status=Status.OPEN), actor=Actor.system(), now=now,
                                   reason="handed over by the assistant")
        audit.record(s, at=now, actor=Actor.system(), action="assistant.handed_over", subject_type="ticket",
                     subject_id=ticket.id, intent=intent, note_id=note.id)
        self.bus.publish(s, HandedOver(ticket, intent, now))
