"""What became of a reply: the outbox's outcome mirrored onto the conversation's message.

Agents see each message's delivery status (pending, sent, delivered, read, held, failed) on the
ticket, and get a `message.delivery` event when it changes, so a reply the provider never took
(`failed` after the outbox's last attempt) is seen and can be sent another way.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.outbox import OutboxMessage
from .events import EventLog
from .models import Message, Ticket
from .sequence import stamp

# The outbox's words for a message still on its way are the desk's "pending".
_STATUS = {"queued": "pending"}
# A reply the provider took is one the customer sees.
VISIBLE = ("sent", "delivered", "read")


class DeliveryMirror:
    def __init__(self, clock: Clock, events: EventLog) -> None:
        self.clock = clock
        self.events = events

    def on_outcome(self, s: Session, row: OutboxMessage) -> None:
        if row.source_type != "message" or row.source_id is None:
            return
        message = s.get(Message, row.source_id)
        status = _STATUS.get(row.status, row.status)
        if message is None or message.delivery_status == status:
            return
        with s.no_autoflush:  # the message's changes go out in one UPDATE, not one before the stamp
            message.delivery_status = status
            if status in VISIBLE and not message.internal:
                stamp(s, message)  # the customer sees it from now on
            if row.provider_message_id and message.provider_message_id is None:
                message.provider_message_id = row.provider_message_id
        ticket = s.get(Ticket, message.ticket_id) if message.ticket_id is not None else None
        if ticket is not None:
            self.events.ticket_event(s, "message.delivery", ticket, self.clock.now(), message_id=message.id,
                                     conversation_id=message.conversation_id, seq=message.seq,
                                     channel=message.channel, status=status, attempts=row.attempts,
                                     error=row.last_error if status == "failed" else None)
