"""What agents do to tickets: status, assignment, priority and area, tags and fields, links,
merge, split.

Each is one unit of work: the agent's access is checked, then the change goes through the desk's
one change use case (`changes.TicketChanges.do_change`), which checks it against the lifecycle,
audits it (who, when, what, why) and publishes it for the follow-on work. A refused change raises
and writes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ..platform import audit
from ..platform.audit import Actor, AuditEntry
from ..platform.bus import MessageBus
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, ValidationFailed
from ..wallet.port import WalletBackend
from .access import Viewer, access_ticket, check_permission, visible
from .changes import TicketChange, TicketChanges, check_link
from .domain_events import TicketOpened, TicketsMerged
from .lifecycle import SETTABLE, Status, check_open
from .models import Conversation, Message, Ticket, TicketLink


class Tickets:
    def __init__(self, db: Database, clock: Clock, changes: TicketChanges, bus: MessageBus,
                 wallet: WalletBackend) -> None:
        self.db = db
        self.clock = clock
        self.changes = changes
        self.bus = bus
        self.wallet = wallet

    def get(self, viewer: Viewer, ticket_id: int) -> Ticket:
        with self.db.read() as s:
            return access_ticket(s, viewer, ticket_id)

    def get_many(self, viewer: Viewer, ticket_ids: list[int]) -> list[Ticket]:
        """Visible tickets among `ticket_ids`, in the order given (one query)."""
        if not ticket_ids:
            return []
        with self.db.read() as s:
            found = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids), visible(viewer)))}
        return [found[i] for i in ticket_ids if i in found]

    def history(self, viewer: Viewer, ticket_id: int) -> list[AuditEntry]:
        with self.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            return audit.history(s, "ticket", ticket_id)

    def _change(self, viewer: Viewer, ticket_id: int, change: TicketChange, *, reason: str | None = None) -> Ticket:
        change = change.checked()  # a bad value is refused before anything is read or locked
        now = self.clock.now()
        with self.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            self.changes.do_change(s, ticket, change, actor=Actor.agent(viewer.agent.id), now=now, reason=reason)
            return ticket

    def set_status(self, viewer: Viewer, ticket_id: int, status: str, *, reason: str | None = None) -> Ticket:
        if status not in SETTABLE:
            raise ValidationFailed(f"status must be one of {', '.join(SETTABLE)}", field="status")
        return self._change(viewer, ticket_id, TicketChange(status=status), reason=reason)

    def assign(self, viewer: Viewer, ticket_id: int, *, agent_id: int | None, team_id: int | None = None,
               reason: str | None = None) -> Ticket:
        """Take a ticket yourself, or (with `ticket.assign`) give it to someone: the supervisor's
        override of automatic routing."""
        if agent_id != viewer.agent.id or team_id is not None:
            check_permission(viewer, "ticket.assign")
        change = TicketChange(assignee_id=agent_id, team_id=team_id).checked()
        now = self.clock.now()
        with self.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            check_open(ticket.status)
            if ticket.assignee_id not in (None, viewer.agent.id):
                # Taking a ticket someone else holds is a reassignment.
                check_permission(viewer, "ticket.assign")
            self.changes.do_change(s, ticket, change, actor=Actor.agent(viewer.agent.id), now=now,
                                   reason=reason or "manual")
            return ticket

    def update(self, viewer: Viewer, ticket_id: int, *, priority: str | None = None, area: str | None = None,
               subject: str | None = None, tags: list[str] | None = None,
               custom_fields: dict[str, Any] | None = None) -> Ticket:
        return self._change(viewer, ticket_id, TicketChange(
            priority=priority, area=area, subject=subject, tags=tuple(tags) if tags is not None else None,
            custom_fields=custom_fields))

    def link(self, viewer: Viewer, ticket_id: int, kind: str, reference: str) -> TicketLink:
        """Link a wallet transaction or refund (checked to exist) to the ticket."""
        kind, reference = check_link(kind, reference)
        if kind == "transaction":
            self.wallet.get_transaction(reference)  # NotFound for an unknown reference
        self._change(viewer, ticket_id, TicketChange(links=((kind, reference),)))
        with self.db.read() as s:
            return s.execute(select(TicketLink).where(TicketLink.ticket_id == ticket_id, TicketLink.kind == kind,
                                                      TicketLink.reference == reference)).scalar_one()

    def links(self, viewer: Viewer, ticket_id: int) -> list[TicketLink]:
        with self.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            return list(s.scalars(select(TicketLink).where(TicketLink.ticket_id == ticket_id).order_by(TicketLink.id)))

    # ---------------------------------------------------------------- merge and split

    def merge(self, viewer: Viewer, source_id: int, target_id: int, *, reason: str) -> Ticket:
        """Fold `source` into `target`: its conversations, messages, links and tags move; `source`
        stays as a "merged" ticket pointing at `target`, with its history."""
        check_permission(viewer, "ticket.merge")
        if source_id == target_id:
            raise ValidationFailed("cannot merge a ticket into itself", field="target_id")
        now = self.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.db.transaction() as s:
            # Fixed lock order (lower id first), as in the wallet.
            first, second = sorted((source_id, target_id))
            locked = {t: access_ticket(s, viewer, t, for_update=True) for t in (first, second)}
            source, target = locked[source_id], locked[target_id]
            for ticket in (source, target):
                if Status(ticket.status).final:
                    raise Conflict(f"ticket {ticket.id} is {ticket.status}", code="invalid_transition")
            if source.contact_id != target.contact_id:
                raise Conflict("tickets of two different contacts cannot be merged", code="different_contacts")
            links = tuple((link.kind, link.reference)
                          for link in s.scalars(select(TicketLink).where(TicketLink.ticket_id == source.id)))
            for model in (Conversation, Message):
                s.execute(update(model).where(model.ticket_id == source.id).values(ticket_id=target.id))
            self.changes.do_change(s, target, TicketChange(add_tags=tuple(source.tags or ()), links=links),
                                   actor=actor, now=now, reason=f"merged from #{source.id}")
            source.merged_into_id = target.id  # before the status change, which handlers see
            self.changes.do_change(s, source, TicketChange(status=Status.MERGED), actor=actor, now=now, reason=reason)
            for ticket, action in ((source, "ticket.merged_into"), (target, "ticket.merged_from")):
                audit.record(s, at=now, actor=actor, action=action, subject_type="ticket", subject_id=ticket.id,
                             reason=reason, source=source.id, target=target.id)
            self.bus.publish(s, TicketsMerged(source, target, now))
            return target

    def split(self, viewer: Viewer, ticket_id: int, message_ids: list[int], *, subject: str | None = None) -> Ticket:
        """Move some customer messages to a new ticket (one case became two)."""
        if not message_ids:
            raise ValidationFailed("choose at least one message", field="message_ids")
        now = self.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if Status(ticket.status).final:
                raise Conflict(f"the ticket is {ticket.status}", code="invalid_transition")
            messages = list(s.scalars(select(Message).where(Message.id.in_(message_ids),
                                                            Message.ticket_id == ticket.id)))
            if len(messages) != len(set(message_ids)):
                raise ValidationFailed("some messages are not on this ticket", field="message_ids")
            total = s.execute(select(Message.id).where(Message.ticket_id == ticket.id)).all()
            if len(total) == len(messages):
                raise ValidationFailed("leave at least one message on the original ticket", field="message_ids")
            first = min(messages, key=lambda m: m.id)
            new = Ticket(contact_id=ticket.contact_id, subject=(subject or first.body.splitlines()[0])[:200],
                         area=ticket.area, priority=ticket.priority, status=Status.OPEN.value, channel=ticket.channel,
                         language=ticket.language, customer_tier=ticket.customer_tier, tags=list(ticket.tags),
                         custom_fields={}, split_from_id=ticket.id, created_at=now, updated_at=now, sla_state="none")
            s.add(new)
            s.flush()
            for message in messages:
                message.ticket_id = new.id
            for t, action in ((ticket, "ticket.split_to"), (new, "ticket.split_from")):
                audit.record(s, at=now, actor=actor, action=action, subject_type="ticket", subject_id=t.id,
                             source=ticket.id, target=new.id, messages=sorted(message_ids))
            self.bus.publish(s, TicketOpened(new, now, split_from=ticket.id))
            return new
