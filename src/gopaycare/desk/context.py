"""What every help desk use case shares, and the order in which a change ripples through.

After a ticket changes, inside the same unit of work: SLA clocks move, triggers run, routing
assigns, the search text is refreshed, and events are queued for the agents' stream. Anything
that leaves the process (an outbound message, a push) happens after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identity.contacts import normalize_email, normalize_phone
from ..identity.models import Customer
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database, on_commit
from ..platform.errors import DomainError
from ..platform.pii import mask_text
from ..wallet.port import WalletBackend
from .events import EventLog, at_commit
from .models import Agent, Message, Ticket

if TYPE_CHECKING:
    from .csat import Csat
    from .routing import Router
    from .rules import Rules
    from .search import TicketSearchIndex
    from .sla import SlaEngine

log = logging.getLogger(__name__)


def ticket_summary(t: Ticket) -> dict[str, object]:
    """What an inbox row shows (subject masked: it is customer text)."""
    return {"id": t.id, "subject": mask_text(t.subject), "status": t.status, "priority": t.priority, "area": t.area,
            "channel": t.channel, "language": t.language, "assignee_id": t.assignee_id, "team_id": t.team_id,
            "tags": list(t.tags or []), "sla_state": t.sla_state,
            "sla_next_due_at": t.sla_next_due_at.isoformat() if t.sla_next_due_at else None,
            "merged_into_id": t.merged_into_id, "updated_at": t.updated_at.isoformat()}


@dataclass
class DeskContext:
    db: Database
    clock: Clock
    wallet: WalletBackend
    events: EventLog
    sla: SlaEngine = field(init=False)
    routing: Router = field(init=False)
    rules: Rules = field(init=False)
    search: TicketSearchIndex = field(init=False)
    csat: Csat = field(init=False)
    # Set by the application: enqueue delivery of one outbound message.
    dispatch_outbound: Callable[[int], None] = lambda _message_id: None

    # ---------------------------------------------------------------- lookups

    def customer_tier(self, kind: str, value: str) -> str:
        """The KYC tier of the wallet customer behind an address (SLA policies depend on it)."""
        try:
            address = normalize_phone(value) if kind in ("phone", "whatsapp") else (
                normalize_email(value) if kind == "email" else None)
        except DomainError:
            return "basic"
        if address is None:
            return "basic"
        column = Customer.email if kind == "email" else Customer.phone
        with self.db.read() as s:
            customer_id = s.execute(select(Customer.id).where(column == address)).scalar_one_or_none()
        if customer_id is None:
            return "basic"
        try:
            return self.wallet.summary(customer_id).tier
        except DomainError:
            return "basic"

    # ---------------------------------------------------------------- ripple effects

    def after_customer_message(self, s: Session, ticket: Ticket, message: Message, now: datetime, *,
                               new_ticket: bool) -> None:
        if new_ticket:
            self.sla.on_ticket_created(s, ticket, now)
            self.emit(s, "ticket.created", ticket, now, subject=mask_text(ticket.subject), area=ticket.area,
                      priority=ticket.priority, channel=ticket.channel)
            self.rules.fire(s, "ticket.created", ticket, now)
            if ticket.assignee_id is None:
                self.routing.route(s, ticket, now)
        else:
            rated = ticket.status == "solved" and self.csat.answer_in(s, ticket, message.body, now)
            if ticket.status in ("pending_customer", "solved", "on_hold") and not rated:
                self.set_status(s, ticket, "open", now, actor=Actor.system(), reason="customer replied")
                if ticket.assignee_id is not None and not self._is_online(s, ticket.assignee_id):
                    # The agent who had it is gone: the customer should not wait for her return.
                    self.routing.route(s, ticket, now)
            if not rated:
                self.sla.on_customer_message(s, ticket, now)
                self.rules.fire(s, "message.received", ticket, now)
        self.emit_message(s, ticket, message, now)
        self.search.index(s, ticket, now)

    def after_agent_message(self, s: Session, ticket: Ticket, message: Message, now: datetime) -> None:
        if not message.internal:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
            self.sla.on_agent_reply(s, ticket, now)
            if ticket.status == "new":
                self.set_status(s, ticket, "open", now, actor=Actor.agent(message.author_id or 0),
                                reason="first reply")
        self.emit_message(s, ticket, message, now)
        self.search.index(s, ticket, now)

    def set_status(self, s: Session, ticket: Ticket, status: str, now: datetime, *, actor: Actor,
                   reason: str | None = None) -> None:
        old = ticket.status
        if old == status:
            return
        ticket.status = status
        ticket.updated_at = now
        if status == "solved":
            ticket.solved_at = now
        elif status == "closed":
            ticket.closed_at = now
        elif old == "solved":
            ticket.solved_at = None
        audit.record(s, at=now, actor=actor, action="ticket.status_changed", subject_type="ticket",
                     subject_id=ticket.id, reason=reason, old=old, new=status)
        self.sla.on_status_change(s, ticket, old, status, now)
        self.csat.on_status_change(s, ticket, old, status, now)
        self.emit(s, "ticket.updated", ticket, now, changes={"status": [old, status]})
        self.rules.fire(s, "ticket.status_changed", ticket, now)
        if old in ("new", "open") and status not in ("new", "open") and ticket.assignee_id is not None:
            # A seat was freed: give it to the oldest queued ticket once this commits.
            on_commit(s, lambda: self.routing.drain_queue(self.clock.now()))

    def _is_online(self, s: Session, agent_id: int) -> bool:
        return s.execute(select(Agent.presence).where(Agent.id == agent_id)).scalar_one_or_none() == "online"

    # ---------------------------------------------------------------- events

    def emit(self, s: Session, kind: str, ticket: Ticket, now: datetime, **payload: object) -> None:
        self.events.emit(s, kind, at=now, ticket_id=ticket.id, agent_id=ticket.assignee_id, team_id=ticket.team_id,
                         **payload)
        self._snapshot_at_commit(s, ticket, now)

    def _snapshot_at_commit(self, s: Session, ticket: Ticket, now: datetime) -> None:
        """One `ticket.snapshot` per touched ticket, with its state as committed: a client that
        applies snapshots in id order holds exactly what a fresh fetch returns."""
        touched: dict[int, Ticket] = s.info.setdefault("gopaycare_touched_tickets", {})
        touched[ticket.id] = ticket

        def snapshots() -> None:
            for t in s.info.pop("gopaycare_touched_tickets", {}).values():
                s.flush()
                self.events.emit(s, "ticket.snapshot", at=now, ticket_id=t.id, agent_id=t.assignee_id,
                                 team_id=t.team_id, ticket=ticket_summary(t))

        at_commit(s, "ticket_snapshots", snapshots)

    def emit_message(self, s: Session, ticket: Ticket, message: Message, now: datetime) -> None:
        # Agents see a masked preview; the full text is fetched (and masked) through the API.
        self.emit(s, "message.created", ticket, now, message_id=message.id, direction=message.direction,
                  author_type=message.author_type, internal=message.internal,
                  preview=mask_text(message.body[:200]))
