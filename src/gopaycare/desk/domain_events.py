"""What happens to tickets and messages: the domain events of the help desk.

Published by the two write use cases (`posting.Posting.do_post`, `changes.TicketChanges.do_change`)
and by the few desk operations that are neither (a merge, a handover); handled by the handlers
registered in `handlers.py`. They carry the rows themselves (inside the unit of work they are live
and locked) plus what changed; they are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..platform.audit import Actor
from .models import Conversation, Message, Ticket


@dataclass(frozen=True)
class TicketOpened:
    """A new ticket: from a customer's first message, or split off another ticket."""

    ticket: Ticket
    now: datetime
    split_from: int | None = None


@dataclass(frozen=True)
class MessagePosted:
    """A message on a ticket: a customer's, or an agent's, the assistant's or the system's (public or
    an internal note)."""

    ticket: Ticket
    conversation: Conversation
    message: Message
    now: datetime
    # The customer's message opened this ticket (the ticket's opening is handled, not a reopening).
    opened_ticket: bool = False
    # The customer's message was a rating for the satisfaction survey: it changes nothing else.
    survey_answer: bool = False

    @property
    def from_customer(self) -> bool:
        return self.message.author_type == "contact"

    @property
    def public_answer(self) -> bool:
        """An answer the customer waits for: an agent's or the assistant's public reply (the system's
        automatic messages, like the survey question or a trigger's acknowledgement, are not)."""
        return self.message.author_type in ("agent", "bot") and not self.message.internal


@dataclass(frozen=True)
class TicketChanged:
    """Fields of a ticket changed (priority, area, subject, tags, custom fields, links)."""

    ticket: Ticket
    changes: dict[str, list[Any]]
    actor: Actor
    reason: str | None
    now: datetime
    # The SLA check raised the priority of a breached ticket: its clocks keep their policy.
    escalation: bool = False


@dataclass(frozen=True)
class StatusChanged:
    ticket: Ticket
    old: str
    new: str
    actor: Actor
    reason: str | None
    now: datetime


@dataclass(frozen=True)
class TicketAssigned:
    ticket: Ticket
    previous_agent_id: int | None
    previous_team_id: int | None
    actor: Actor
    reason: str | None
    now: datetime


@dataclass(frozen=True)
class TicketsMerged:
    source: Ticket
    target: Ticket
    now: datetime


@dataclass(frozen=True)
class HandedOver:
    """The assistant handed the case to a person."""

    ticket: Ticket
    intent: str | None
    now: datetime
    details: dict[str, Any] = field(default_factory=dict)
