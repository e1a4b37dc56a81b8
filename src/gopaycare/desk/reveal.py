"""Showing a message in clear, for an agent with `pii.reveal` who says why.

Agents read customer messages masked (phones, emails, ID and card numbers). Revealing one is its
own use case: the permission check, the read and the audit row share one unit of work, so no
clear text leaves without its audit row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import NotFound, ValidationFailed
from .access import Viewer, access_ticket, check_permission
from .models import Message

REVEAL_PERMISSION = "pii.reveal"


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 200:
        raise ValidationFailed("say why you need to see this message in clear (5 to 200 characters)",
                               field="reason")
    return reason


def access_message(s: Session, viewer: Viewer, ticket_id: int, message_id: int) -> Message:
    """A message of a ticket this viewer may see; one they may not see answers 404, as a missing one."""
    access_ticket(s, viewer, ticket_id)
    message = s.scalar(select(Message).where(Message.id == message_id, Message.ticket_id == ticket_id))
    if message is None:
        raise NotFound("message not found", message_id=message_id)
    return message


class Reveal:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def message(self, viewer: Viewer, ticket_id: int, message_id: int, *, reason: str) -> Message:
        """The message with its body in clear; the reason is audited on the ticket."""
        check_permission(viewer, REVEAL_PERMISSION)
        reason = check_reason(reason)
        with self.db.transaction() as s:
            message = access_message(s, viewer, ticket_id, message_id)
            audit.record(s, at=self.clock.now(), actor=Actor.agent(viewer.agent.id), action="pii.revealed",
                         subject_type="ticket", subject_id=ticket_id, reason=reason, message_id=message_id)
        return message
