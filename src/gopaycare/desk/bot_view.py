"""What the assistant may read of a ticket it handed to a person: whether a person still has it, and
the conversation so far for the handover summary. Read-only; the assistant never reads the desk's
tables itself (the import contracts forbid it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..platform.audit import AuditEntry
from ..platform.db import Database
from .lifecycle import Status
from .models import Message, Ticket


@dataclass(frozen=True)
class HandoverState:
    """A handed-over ticket as the assistant sees it when the customer writes again."""

    ticket_id: int
    status: str
    solved_since: bool  # solved or closed after the handover: the person's part is over
    agent_replied: bool  # a person answered the customer since the handover


@dataclass(frozen=True)
class Said:
    """One message of the ticket, for the summary (bodies are masked by the summary, not here)."""

    author_type: str
    body: str


class BotView:
    def __init__(self, db: Database) -> None:
        self.db = db

    def handover(self, ticket_id: int, since: datetime | None) -> HandoverState | None:
        """The handed-over ticket's state; None when it no longer exists."""
        with self.db.read() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                return None
            # The customer's message has already reopened a solved ticket (solved_at is cleared then):
            # the audit trail still says it was solved after the handover.
            ended = Status(ticket.status).final or ticket.status == Status.SOLVED or any(
                (entry.details or {}).get("new") in (Status.SOLVED, Status.CLOSED)
                for entry in s.scalars(select(AuditEntry).where(
                    AuditEntry.subject_type == "ticket", AuditEntry.subject_id == str(ticket_id),
                    AuditEntry.action == "ticket.status_changed",
                    *([AuditEntry.at >= since] if since is not None else []))))
            replied = s.scalar(select(Message.id).where(
                Message.ticket_id == ticket_id, Message.author_type == "agent", Message.internal.is_(False),
                *([Message.created_at >= since] if since is not None else [])).limit(1)) is not None
            return HandoverState(ticket_id, ticket.status, ended, replied)

    def messages(self, ticket_id: int, *, limit: int = 40) -> list[Said]:
        """The ticket's customer and bot messages, oldest first (the last `limit`); no notes."""
        with self.db.read() as s:
            rows = s.execute(select(Message.author_type, Message.body).where(
                Message.ticket_id == ticket_id, Message.internal.is_(False),
                Message.author_type.in_(("contact", "bot"))).order_by(Message.id.desc()).limit(limit)).all()
        return [Said(author, body) for author, body in reversed(rows)]
