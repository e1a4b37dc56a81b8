"""Changing tickets: status, assignment, priority and area, tags and fields, links, merge, split.

Every change is one unit of work: checked (permission, allowed transition), written, audited
(who, when, what, why) and evented. A rejected change raises and writes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ..platform import audit
from ..platform.audit import Actor, AuditEntry
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .access import Viewer, access_ticket, check_permission, visible
from .context import DeskContext
from .models import PRIORITIES, SERVICE_AREAS, Agent, Conversation, Message, Ticket, TicketLink

# What an agent may set by hand; "closed" only follows "solved", "merged" only comes from a merge.
AGENT_STATUSES = ("open", "pending_customer", "on_hold", "solved", "closed")
MAX_TAGS = 20


def _tag(value: str) -> str:
    tag = (value or "").strip().lower().replace(" ", "_")
    if not tag or len(tag) > 40:
        raise ValidationFailed("a tag is 1 to 40 characters", field="tags")
    return tag


class Tickets:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def get(self, viewer: Viewer, ticket_id: int) -> Ticket:
        with self.ctx.db.read() as s:
            return access_ticket(s, viewer, ticket_id)

    def get_many(self, viewer: Viewer, ticket_ids: list[int]) -> list[Ticket]:
        """Visible tickets among `ticket_ids`, in the order given (one query)."""
        if not ticket_ids:
            return []
        with self.ctx.db.read() as s:
            found = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids), visible(viewer)))}
        return [found[i] for i in ticket_ids if i in found]

    def history(self, viewer: Viewer, ticket_id: int) -> list[AuditEntry]:
        with self.ctx.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            return audit.history(s, "ticket", ticket_id)

    def set_status(self, viewer: Viewer, ticket_id: int, status: str, *, reason: str | None = None) -> Ticket:
        if status not in AGENT_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(AGENT_STATUSES)}", field="status")
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if ticket.status == "merged":
                raise Conflict("a merged ticket cannot change", code="ticket_merged")
            if ticket.status == "closed":
                raise Conflict("a closed ticket does not change; the customer's next message opens a new one",
                               code="invalid_transition", status=ticket.status)
            if status == "closed" and ticket.status != "solved":
                raise Conflict("only a solved ticket can be closed", code="invalid_transition",
                               status=ticket.status)
            self.ctx.set_status(s, ticket, status, now, actor=Actor.agent(viewer.agent.id), reason=reason)
            return ticket

    def assign(self, viewer: Viewer, ticket_id: int, *, agent_id: int | None, team_id: int | None = None,
               reason: str | None = None) -> Ticket:
        """Take a ticket yourself, or (with `ticket.assign`) give it to someone: the supervisor's
        override of automatic routing."""
        if agent_id != viewer.agent.id or team_id is not None:
            check_permission(viewer, "ticket.assign")
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if ticket.status in ("closed", "merged"):
                raise Conflict(f"the ticket is {ticket.status}", code="ticket_closed")
            if ticket.assignee_id not in (None, viewer.agent.id):
                # Taking a ticket someone else holds is a reassignment.
                check_permission(viewer, "ticket.assign")
            if agent_id is not None:
                agent = s.get(Agent, agent_id)
                if agent is None or not agent.active:
                    raise NotFound("agent not found", agent_id=agent_id)
            self.ctx.routing.assign(s, ticket, agent_id, now, actor=Actor.agent(viewer.agent.id),
                                    reason=reason or "manual", team_id=team_id)
            return ticket

    def update(self, viewer: Viewer, ticket_id: int, *, priority: str | None = None, area: str | None = None,
               subject: str | None = None, tags: list[str] | None = None,
               custom_fields: dict[str, Any] | None = None) -> Ticket:
        changes: dict[str, Any] = {}
        if priority is not None and priority not in PRIORITIES:
            raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
        if area is not None and area not in SERVICE_AREAS:
            raise ValidationFailed(f"area must be one of {', '.join(SERVICE_AREAS)}", field="area")
        if subject is not None and not 1 <= len(subject.strip()) <= 200:
            raise ValidationFailed("subject is 1 to 200 characters", field="subject")
        clean_tags = sorted({_tag(t) for t in tags}) if tags is not None else None
        if clean_tags is not None and len(clean_tags) > MAX_TAGS:
            raise ValidationFailed(f"at most {MAX_TAGS} tags", field="tags")
        if custom_fields is not None and (not isinstance(custom_fields, dict) or len(str(custom_fields)) > 4000):
            raise ValidationFailed("custom fields must be a small JSON object", field="custom_fields")
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if ticket.status == "merged":
                raise Conflict("a merged ticket cannot change", code="ticket_merged")
            for name, value in (("priority", priority), ("area", area), ("subject", subject and subject.strip()),
                                ("tags", clean_tags)):
                if value is not None and getattr(ticket, name) != value:
                    changes[name] = [getattr(ticket, name), value]
                    setattr(ticket, name, value)
            if custom_fields is not None:
                merged = {**ticket.custom_fields, **custom_fields}
                if merged != ticket.custom_fields:
                    changes["custom_fields"] = [ticket.custom_fields, merged]
                    ticket.custom_fields = merged
            if not changes:
                return ticket
            ticket.updated_at = now
            audit.record(s, at=now, actor=Actor.agent(viewer.agent.id), action="ticket.updated",
                         subject_type="ticket", subject_id=ticket.id, changes=changes)
            if "priority" in changes:
                self.ctx.sla.on_priority_change(s, ticket, now)
            self.ctx.emit(s, "ticket.updated", ticket, now, changes=changes)
            self.ctx.rules.fire(s, "ticket.updated", ticket, now)
            self.ctx.search.index(s, ticket, now)
            return ticket

    def link(self, viewer: Viewer, ticket_id: int, kind: str, reference: str) -> TicketLink:
        """Link a wallet transaction or refund (checked to exist) to the ticket."""
        if kind not in ("transaction", "refund"):
            raise ValidationFailed("kind must be transaction or refund", field="kind")
        if kind == "transaction":
            self.ctx.wallet.get_transaction(reference)  # NotFound for an unknown reference
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            existing = s.execute(select(TicketLink).where(TicketLink.ticket_id == ticket.id, TicketLink.kind == kind,
                                                          TicketLink.reference == reference)).scalar_one_or_none()
            if existing is not None:
                return existing
            link = TicketLink(ticket_id=ticket.id, kind=kind, reference=reference, created_at=now)
            s.add(link)
            s.flush()
            audit.record(s, at=now, actor=Actor.agent(viewer.agent.id), action="ticket.linked",
                         subject_type="ticket", subject_id=ticket.id, kind=kind, reference=reference)
            self.ctx.emit(s, "ticket.updated", ticket, now, changes={"links": [None, reference]})
            self.ctx.search.index(s, ticket, now)
            return link

    def links(self, viewer: Viewer, ticket_id: int) -> list[TicketLink]:
        with self.ctx.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            return list(s.scalars(select(TicketLink).where(TicketLink.ticket_id == ticket_id).order_by(TicketLink.id)))

    # ---------------------------------------------------------------- merge and split

    def merge(self, viewer: Viewer, source_id: int, target_id: int, *, reason: str) -> Ticket:
        """Fold `source` into `target`: its conversations, messages and links move; `source`
        stays as a "merged" ticket pointing at `target`, with its history."""
        check_permission(viewer, "ticket.merge")
        if source_id == target_id:
            raise ValidationFailed("cannot merge a ticket into itself", field="target_id")
        now = self.ctx.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.ctx.db.transaction() as s:
            # Fixed lock order (lower id first), as in the wallet.
            first, second = sorted((source_id, target_id))
            locked = {t: access_ticket(s, viewer, t, for_update=True) for t in (first, second)}
            source, target = locked[source_id], locked[target_id]
            for ticket in (source, target):
                if ticket.status in ("merged", "closed"):
                    raise Conflict(f"ticket {ticket.id} is {ticket.status}", code="invalid_transition")
            if source.contact_id != target.contact_id:
                raise Conflict("tickets of two different contacts cannot be merged", code="different_contacts")
            for model in (Conversation, Message):
                s.execute(update(model).where(model.ticket_id == source.id).values(ticket_id=target.id))
            for link in s.scalars(select(TicketLink).where(TicketLink.ticket_id == source.id)):
                if not s.execute(select(TicketLink.id).where(TicketLink.ticket_id == target.id,
                                                             TicketLink.kind == link.kind,
                                                             TicketLink.reference == link.reference)).first():
                    s.add(TicketLink(ticket_id=target.id, kind=link.kind, reference=link.reference, created_at=now))
            target.tags = sorted(set(target.tags) | set(source.tags))
            target.updated_at = now
            source.merged_into_id = target.id  # before the status change, which triggers see
            self.ctx.set_status(s, source, "merged", now, actor=actor, reason=reason)
            self.ctx.sla.stop(s, source, now)
            for ticket, action in ((source, "ticket.merged_into"), (target, "ticket.merged_from")):
                audit.record(s, at=now, actor=actor, action=action, subject_type="ticket", subject_id=ticket.id,
                             reason=reason, source=source.id, target=target.id)
            self.ctx.emit(s, "ticket.merged", target, now, source=source.id, target=target.id)
            self.ctx.search.index(s, target, now)
            self.ctx.search.index(s, source, now)
            return target

    def split(self, viewer: Viewer, ticket_id: int, message_ids: list[int], *, subject: str | None = None) -> Ticket:
        """Move some customer messages to a new ticket (one case became two)."""
        if not message_ids:
            raise ValidationFailed("choose at least one message", field="message_ids")
        now = self.ctx.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            if ticket.status in ("merged", "closed"):
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
                         area=ticket.area, priority=ticket.priority, status="open", channel=ticket.channel,
                         language=ticket.language, customer_tier=ticket.customer_tier, tags=list(ticket.tags),
                         custom_fields={}, split_from_id=ticket.id, created_at=now, updated_at=now, sla_state="none")
            s.add(new)
            s.flush()
            for message in messages:
                message.ticket_id = new.id
            for t, action in ((ticket, "ticket.split_to"), (new, "ticket.split_from")):
                audit.record(s, at=now, actor=actor, action=action, subject_type="ticket", subject_id=t.id,
                             source=ticket.id, target=new.id, messages=sorted(message_ids))
            self.ctx.sla.on_ticket_created(s, new, now)
            self.ctx.emit(s, "ticket.created", new, now, split_from=ticket.id)
            self.ctx.routing.route(s, new, now)
            self.ctx.search.index(s, new, now)
            self.ctx.search.index(s, ticket, now)
            return new
