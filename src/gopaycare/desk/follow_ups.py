"""E-mail follow-ups of chat replies the customer has not read.

A customer handed to a person while none was online is told that an agent's answer will also come
by e-mail (to the address they have, or one they typed in the chat): the conversation's
`follow_up_email`. An agent's reply on such a chat that is still unread `after` minutes later is
sent once more, by e-mail, through the outbox (so after commit, retried, held while no SMTP server
is set). A reply the customer read in time (their app said so: `customer_side.mark_read`) is not.

Once: each reply has at most one follow-up, its outbox row (source "follow_up", the message id),
and the sweep looks for it under the ticket's row lock, so two sweeps never both send it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select

from ..platform import catalog
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.outbox import Outbox, OutboxMessage
from .changes import lock_ticket
from .contacts import live_contact
from .customer_side import OWN_CHANNELS
from .models import Conversation, Message

SOURCE = "follow_up"
# Older unread replies are left alone: the sweep reads a bounded, recent set.
LOOKBACK = timedelta(days=1)
BATCH = 100
UNREAD = ("sent", "delivered")


class FollowUps:
    def __init__(self, db: Database, clock: Clock, outbox: Outbox, *, after: timedelta) -> None:
        self.db, self.clock, self.outbox, self.after = db, clock, outbox, after

    def sweep(self) -> int:
        """E-mail the agents' replies left unread for `after`; returns how many were queued."""
        now = self.clock.now()
        followed = exists().where(OutboxMessage.source_type == SOURCE, OutboxMessage.source_id == Message.id)
        with self.db.read() as s:
            due = list(s.scalars(
                select(Message.id).join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.follow_up_email.is_not(None), Conversation.last_message_at >= now - LOOKBACK,
                       Message.channel.in_(OWN_CHANNELS), Message.author_type == "agent", Message.direction == "out",
                       Message.internal.is_(False), Message.delivery_status.in_(UNREAD),
                       Message.created_at <= now - self.after, Message.created_at >= now - LOOKBACK, ~followed)
                .order_by(Message.id).limit(BATCH)))
        return sum(self.follow_up(message_id, now) for message_id in due)

    def follow_up(self, message_id: int, now: datetime) -> bool:
        """Queue the e-mail of one unread reply, unless it was read or already followed up."""
        with self.db.transaction() as s:
            ticket_id = s.execute(select(Message.ticket_id).where(Message.id == message_id)).scalar_one_or_none()
            if ticket_id is None:
                return False
            ticket = lock_ticket(s, ticket_id)  # what a second sweep waits on
            message = s.get(Message, message_id, populate_existing=True)
            conversation = s.get(Conversation, message.conversation_id) if message is not None else None
            if message is None or conversation is None or not conversation.follow_up_email \
                    or message.delivery_status not in UNREAD:
                return False
            if s.execute(select(OutboxMessage.id).where(OutboxMessage.source_type == SOURCE,
                                                        OutboxMessage.source_id == message.id)).first():
                return False
            lang = ticket.language
            self.outbox.queue(
                s, channel="email", destination=conversation.follow_up_email, purpose="follow_up", now=now,
                subject=catalog.text("desk.follow_up", "subject", lang, ticket=ticket.id),
                body=catalog.text("desk.follow_up", "body", lang, reply=message.body, ticket=ticket.id),
                customer_id=live_contact(s, conversation.contact_id).customer_id, source=(SOURCE, message.id))
            return True
