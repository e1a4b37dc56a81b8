"""Who does what when something happens to a ticket: every follow-on step, subscribed once.

Read this file to follow a change through the desk. Each event's handlers run in the order listed,
inside the unit of work that published it (see platform/bus.py):

  TicketOpened    SLA clocks start · "ticket.created" to agents · `ticket.created` triggers ·
                  routing (unless assigned) · search text
  MessagePosted   the lifecycle (a customer's message reopens a waiting ticket and goes past an
                  absent assignee; an agent's first public reply opens a new ticket; the first
                  answer is stamped) · SLA (the customer waits / was answered) · `message.received`
                  triggers · "message.created" to agents · search text
  TicketChanged   SLA policy for a new priority · "ticket.updated" to agents · `ticket.updated`
                  triggers · search text · a new area moves the ticket to that area's team
  StatusChanged   SLA pause/resume/stop · CSAT question on solve · "ticket.updated" to agents ·
                  `ticket.status_changed` triggers · a freed seat drains the queue after commit
  TicketAssigned  round-robin memory · "ticket.assigned" (and "ticket.unassigned" to the one who
                  had it) to agents
  TicketsMerged   "ticket.merged" to agents · search text of both
  HandedOver      the customer's waiting clock · "ticket.handed_over" to agents · routing

The outbox delivers public messages after commit; its outcome comes back through `delivery.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..platform.audit import Actor
from ..platform.bus import MessageBus
from ..platform.clock import Clock
from ..platform.db import on_commit
from ..platform.pii import mask_text
from .changes import TicketChange, TicketChanges
from .csat import Csat
from .domain_events import (
    HandedOver,
    MessagePosted,
    StatusChanged,
    TicketAssigned,
    TicketChanged,
    TicketOpened,
    TicketsMerged,
)
from .events import EventLog
from .lifecycle import SEAT_STATUSES, Status
from .models import Ticket
from .routing import Router
from .rules import Rules
from .search import TicketSearchIndex
from .sla import SlaEngine

# Fields a trigger's conditions can read (and custom fields, which agents' triggers key on).
_TRIGGER_FIELDS = {"priority", "area", "subject", "tags", "custom_fields"}
_SEARCHED_FIELDS = {"subject", "tags", "links"}


@dataclass
class DeskHandlers:
    clock: Clock
    events: EventLog
    changes: TicketChanges
    sla: SlaEngine
    routing: Router
    rules: Rules
    csat: Csat
    search: TicketSearchIndex

    def register(self, bus: MessageBus) -> None:
        for event_type, handlers in (
            (TicketOpened, (self.sla_on_opened, self.announce_opened, self.triggers_on_opened, self.route_opened,
                            self.index_opened)),
            (MessagePosted, (self.lifecycle_on_message, self.sla_on_message, self.triggers_on_message,
                             self.announce_message, self.index_message)),
            (TicketChanged, (self.sla_on_changed, self.announce_changed, self.triggers_on_changed,
                             self.index_changed, self.route_area_changed)),
            (StatusChanged, (self.sla_on_status, self.csat.on_status_change, self.announce_status,
                             self.triggers_on_status, self.drain_freed_seat)),
            (TicketAssigned, (self.routing.on_assigned, self.announce_assigned)),
            (TicketsMerged, (self.announce_merged, self.index_merged)),
            (HandedOver, (self.sla_on_handover, self.announce_handover, self.route_handover)),
        ):
            for handler in handlers:
                bus.subscribe(event_type, handler)

    # ---------------------------------------------------------------- a new ticket

    def sla_on_opened(self, s: Session, e: TicketOpened) -> None:
        self.sla.on_ticket_created(s, e.ticket, e.now)

    def announce_opened(self, s: Session, e: TicketOpened) -> None:
        t = e.ticket
        if e.split_from is not None:
            self.events.ticket_event(s, "ticket.created", t, e.now, split_from=e.split_from)
        else:
            self.events.ticket_event(s, "ticket.created", t, e.now, subject=mask_text(t.subject), area=t.area,
                                     priority=t.priority, channel=t.channel)

    def triggers_on_opened(self, s: Session, e: TicketOpened) -> None:
        self.rules.fire(s, "ticket.created", e.ticket, e.now)

    def route_opened(self, s: Session, e: TicketOpened) -> None:
        if e.ticket.assignee_id is None and Status(e.ticket.status).takes_a_seat:
            self.routing.route(s, e.ticket, e.now)

    def index_opened(self, s: Session, e: TicketOpened) -> None:
        self.search.index_at_commit(s, e.ticket, e.now)
        source = s.get(Ticket, e.split_from) if e.split_from is not None else None
        if source is not None:  # the messages it gave away leave its text
            self.search.index_at_commit(s, source, e.now)

    # ---------------------------------------------------------------- a message

    def lifecycle_on_message(self, s: Session, e: MessagePosted) -> None:
        ticket = e.ticket
        if e.from_customer and not e.opened_ticket and not e.survey_answer:
            if Status(ticket.status).waiting:
                self.changes.do_change(s, ticket, TicketChange(status=Status.OPEN), actor=Actor.system(),
                                       now=e.now, reason="customer replied")
                # The agent who had it is gone: the customer should not wait for her return.
                self.routing.route_if_assignee_away(s, ticket, e.now)
        elif e.public_answer:
            if ticket.first_response_at is None:
                ticket.first_response_at = e.now
            if e.message.author_type == "agent" and ticket.status == Status.NEW:
                self.changes.do_change(s, ticket, TicketChange(status=Status.OPEN),
                                       actor=Actor.agent(e.message.author_id or 0), now=e.now, reason="first reply")

    def sla_on_message(self, s: Session, e: MessagePosted) -> None:
        if e.from_customer and not e.opened_ticket and not e.survey_answer:
            self.sla.on_customer_message(s, e.ticket, e.now)
        elif e.public_answer:
            self.sla.on_agent_reply(s, e.ticket, e.now)

    def triggers_on_message(self, s: Session, e: MessagePosted) -> None:
        if e.from_customer and not e.opened_ticket and not e.survey_answer:
            self.rules.fire(s, "message.received", e.ticket, e.now)

    def announce_message(self, s: Session, e: MessagePosted) -> None:
        self.events.message_event(s, e.ticket, e.message, e.now)

    def index_message(self, s: Session, e: MessagePosted) -> None:
        self.search.index_at_commit(s, e.ticket, e.now, appended=e.message)

    # ---------------------------------------------------------------- fields, status, assignee

    def sla_on_changed(self, s: Session, e: TicketChanged) -> None:
        if "priority" in e.changes and not e.escalation:
            self.sla.on_priority_change(s, e.ticket, e.now)

    def announce_changed(self, s: Session, e: TicketChanged) -> None:
        self.events.ticket_event(s, "ticket.updated", e.ticket, e.now, changes=e.changes)

    def triggers_on_changed(self, s: Session, e: TicketChanged) -> None:
        if _TRIGGER_FIELDS & e.changes.keys():
            self.rules.fire(s, "ticket.updated", e.ticket, e.now)

    def index_changed(self, s: Session, e: TicketChanged) -> None:
        if _SEARCHED_FIELDS & e.changes.keys():
            self.search.index_at_commit(s, e.ticket, e.now)

    def route_area_changed(self, s: Session, e: TicketChanged) -> None:
        if "area" in e.changes:
            self.routing.on_area_changed(s, e.ticket, e.now)

    def sla_on_status(self, s: Session, e: StatusChanged) -> None:
        self.sla.on_status_change(s, e.ticket, e.old, e.new, e.now)

    def announce_status(self, s: Session, e: StatusChanged) -> None:
        self.events.ticket_event(s, "ticket.updated", e.ticket, e.now, changes={"status": [e.old, e.new]})

    def triggers_on_status(self, s: Session, e: StatusChanged) -> None:
        self.rules.fire(s, "ticket.status_changed", e.ticket, e.now)

    def drain_freed_seat(self, s: Session, e: StatusChanged) -> None:
        if e.old in SEAT_STATUSES and e.new not in SEAT_STATUSES and e.ticket.assignee_id is not None:
            # A seat was freed: give it to the oldest queued ticket once this commits.
            on_commit(s, lambda: self.routing.drain_queue(self.clock.now()))

    def announce_assigned(self, s: Session, e: TicketAssigned) -> None:
        ticket = e.ticket
        self.events.ticket_event(s, "ticket.assigned", ticket, e.now, previous_assignee_id=e.previous_agent_id,
                                 reason=e.reason)
        if e.previous_agent_id is not None and e.previous_agent_id != ticket.assignee_id:
            self.events.emit(s, "ticket.unassigned", at=e.now, ticket_id=ticket.id, agent_id=e.previous_agent_id,
                             new_assignee_id=ticket.assignee_id, reason=e.reason)

    # ---------------------------------------------------------------- merge and handover

    def announce_merged(self, s: Session, e: TicketsMerged) -> None:
        self.events.ticket_event(s, "ticket.merged", e.target, e.now, source=e.source.id, target=e.target.id)

    def index_merged(self, s: Session, e: TicketsMerged) -> None:
        self.search.index_at_commit(s, e.target, e.now)
        self.search.index_at_commit(s, e.source, e.now)

    def sla_on_handover(self, s: Session, e: HandedOver) -> None:
        # The customer now waits for a person: that clock starts now.
        self.sla.on_customer_message(s, e.ticket, e.now)

    def announce_handover(self, s: Session, e: HandedOver) -> None:
        self.events.ticket_event(s, "ticket.handed_over", e.ticket, e.now, intent=e.intent)

    def route_handover(self, s: Session, e: HandedOver) -> None:
        if e.ticket.assignee_id is None:
            self.routing.route(s, e.ticket, e.now)
