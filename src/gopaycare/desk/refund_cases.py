"""The desk side of a refund request: the ticket it lives on, the review queue, and the customer's notices.

A request made through the app's API has no conversation yet: it is filed on the customer's chat (the
channel the app uses), so its notices reach them where they asked and the review happens on one ticket.
A request from the assistant or an agent already has its ticket, whose conversation carries the notices.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from .changes import TicketChange, TicketChanges, lock_ticket
from .conversations import Conversations
from .handoff import BotTurns
from .models import Contact, Conversation

AREA = "refund_dispute"
REVIEW_TAG = "refund_review"


class RefundCases:
    def __init__(self, db: Database, clock: Clock, conversations: Conversations, changes: TicketChanges,
                 bot: BotTurns) -> None:
        self.db = db
        self.clock = clock
        self.conversations = conversations
        self.changes = changes
        self.bot = bot

    def file(self, customer_id: int, *, request_id: int, body: str, ticket_id: int | None,
             links: tuple[tuple[str, str], ...], actor: Actor) -> int:
        """The ticket the request lives on (the given one, or the customer's chat's), in the refund area,
        linked to the payment and the request. Safe to call twice (the message is keyed by the request)."""
        if ticket_id is None:
            phone = self.conversations.customers.ref(customer_id).phone
            for attempt in range(3):
                try:
                    ticket_id = self.conversations.receive(
                        channel="chat", identity_kind="phone", identity_value=phone, body=body, area=AREA,
                        provider_message_id=f"refund-request-{request_id}", subject=f"Refund RR{request_id}").ticket_id
                    break
                except IntegrityError:
                    # Two first messages of one customer at once both made their contact or conversation:
                    # the other one's stands now, and this one is filed on it.
                    if attempt == 2:
                        raise
        assert ticket_id is not None
        now = self.clock.now()
        with self.db.transaction() as s:
            ticket = lock_ticket(s, ticket_id)
            self.changes.do_change(s, ticket, TicketChange(area=AREA, links=links), actor=actor, now=now,
                                   reason="refund requested")
        return ticket_id

    def queue_for_review(self, ticket_id: int, *, priority: str, reason: str) -> None:
        """Into the review queue: the refund area's queue, open, with the review's priority (its SLA)."""
        now = self.clock.now()
        with self.db.transaction() as s:
            ticket = lock_ticket(s, ticket_id)
            self.changes.do_change(s, ticket, TicketChange(area=AREA, priority=priority, status="open",
                                                           add_tags=(REVIEW_TAG,)),
                                   actor=Actor.system(), now=now, reason=reason)

    def notify(self, ticket_id: int, text: str, *, now: datetime | None = None) -> bool:
        """A notice to the customer on the ticket's conversation (it leaves on that conversation's
        channel through the outbox). False when the ticket has no conversation to say it on."""
        now = now or self.clock.now()
        with self.db.transaction() as s:
            conversation_id = s.scalar(select(Conversation.id).where(Conversation.ticket_id == ticket_id)
                                       .order_by(Conversation.id.desc()).limit(1))
            if conversation_id is None:
                return False
            ticket, conversation = self.bot.lock(s, ticket_id, conversation_id)
            self.bot.do_reply(s, ticket, conversation, [text], now=now)
            return True

    def customer_on(self, contact_id: int) -> int | None:
        """The wallet customer a ticket's contact is (None: an unknown contact)."""
        with self.db.read() as s:
            return s.scalar(select(Contact.customer_id).where(Contact.id == contact_id))
