"""The one way to change a ticket: status, priority, area, subject, tags, custom fields, links,
assignee and team.

Every caller (the agents' API, macros, triggers, automations, the SLA check, routing, the assistant,
a refund request) describes what it wants as a `TicketChange` and calls `do_change` inside its unit
of work. The change is checked (values, the lifecycle's transition table), written, audited (who,
when, what, why) and published on the bus as `TicketChanged`, `TicketAssigned` and `StatusChanged`;
the follow-on work (SLA clocks, triggers, routing, CSAT, search text, the agents' stream) is done by
the handlers subscribed to those (see `handlers.py`). A refused change raises before anything is
written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.bus import MessageBus
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .domain_events import StatusChanged, TicketAssigned, TicketChanged
from .lifecycle import SETTABLE, Status, check_move
from .models import PRIORITIES, SERVICE_AREAS, Agent, Team, Ticket, TicketLink

MAX_TAGS = 20
MAX_CUSTOM_FIELDS_CHARS = 4000
LINK_KINDS = ("transaction", "refund", "dispute")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


# "Leave the assignee as it is" (None means: unassign).
KEEP: Final = _Keep()


def check_tag(value: object) -> str:
    tag = value.strip().lower().replace(" ", "_") if isinstance(value, str) else ""
    if not tag or len(tag) > 40:
        raise ValidationFailed("a tag is 1 to 40 characters", field="tags")
    return tag


def check_link(kind: object, reference: object) -> tuple[str, str]:
    if kind not in LINK_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(LINK_KINDS)}", field="kind")
    ref = reference.strip() if isinstance(reference, str) else ""
    if not 1 <= len(ref) <= 40:
        raise ValidationFailed("a reference is 1 to 40 characters", field="reference")
    return str(kind), ref


@dataclass(frozen=True)
class TicketChange:
    """What to change; anything left at its default stays as it is."""

    status: str | None = None
    priority: str | None = None
    area: str | None = None
    subject: str | None = None
    tags: tuple[str, ...] | None = None  # the whole set
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] | None = None  # merged into the ticket's own
    links: tuple[tuple[str, str], ...] = ()  # (kind, reference), added once
    assignee_id: int | None | _Keep = KEEP
    team_id: int | None = None  # a team to set (None: the team stays)

    def checked(self) -> TicketChange:
        """The same change with its values normalized; ValidationFailed for a bad one."""
        if self.status is not None and self.status not in SETTABLE and self.status != Status.MERGED:
            raise ValidationFailed(f"status must be one of {', '.join(SETTABLE)}", field="status")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
        if self.area is not None and self.area not in SERVICE_AREAS:
            raise ValidationFailed(f"area must be one of {', '.join(SERVICE_AREAS)}", field="area")
        subject = self.subject
        if subject is not None:
            subject = subject.strip() if isinstance(subject, str) else ""
            if not 1 <= len(subject) <= 200:
                raise ValidationFailed("subject is 1 to 200 characters", field="subject")
        tags = tuple(sorted({check_tag(t) for t in self.tags})) if self.tags is not None else None
        if tags is not None and len(tags) > MAX_TAGS:
            raise ValidationFailed(f"at most {MAX_TAGS} tags", field="tags")
        if self.custom_fields is not None and (not isinstance(self.custom_fields, Mapping)
                                               or len(str(self.custom_fields)) > MAX_CUSTOM_FIELDS_CHARS):
            raise ValidationFailed("custom fields must be a small JSON object", field="custom_fields")
        for value, name in ((self.assignee_id, "agent_id"), (self.team_id, "team_id")):
            if value is not None and not isinstance(value, _Keep) and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63):
                raise ValidationFailed(f"{name} must be a positive id", field=name)
        return replace(self, subject=subject, tags=tags, add_tags=tuple(check_tag(t) for t in self.add_tags),
                       remove_tags=tuple(check_tag(t) for t in self.remove_tags),
                       links=tuple(check_link(k, r) for k, r in self.links))

    @property
    def assigns(self) -> bool:
        return not isinstance(self.assignee_id, _Keep) or self.team_id is not None


class TicketChanges:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    def do_change(self, s: Session, ticket: Ticket, change: TicketChange, *, actor: Actor, now: datetime,
                  reason: str | None = None, escalation: bool = False) -> dict[str, list[Any]]:
        """Apply `change` to `ticket` (locked by the caller) and publish what changed; returns the
        changed fields as {field: [old, new]} (assignee and status included)."""
        change = change.checked()
        status = Status(ticket.status)
        if status is Status.MERGED:
            raise Conflict("a merged ticket cannot change", code="ticket_merged")
        if change.status is not None and change.status != status:
            check_move(status, change.status)
        if change.assigns and status.final:
            raise Conflict(f"the ticket is {status}", code="ticket_closed", status=status)
        fields = self._fields(ticket, change)
        links = self._links(s, ticket, change.links, now)
        done: dict[str, list[Any]] = dict(fields)
        if links:
            done["links"] = [None, links[0] if len(links) == 1 else links]
        if done:
            ticket.updated_at = now
            if fields:
                audit.record(s, at=now, actor=actor, action="ticket.updated", subject_type="ticket",
                             subject_id=ticket.id, reason=reason, changes=fields)
            for kind, reference in ((k, r) for k, r in change.links if r in links):
                audit.record(s, at=now, actor=actor, action="ticket.linked", subject_type="ticket",
                             subject_id=ticket.id, reason=reason, kind=kind, reference=reference)
            self.bus.publish(s, TicketChanged(ticket, done, actor, reason, now, escalation=escalation))
        if change.assigns:
            assigned = self._assign(s, ticket, change, actor=actor, reason=reason, now=now)
            done.update(assigned)
        if change.status is not None and change.status != ticket.status:
            check_move(ticket.status, change.status)  # again: a handler above may have moved it
            old = ticket.status
            self._set_status(ticket, change.status, now)
            new = ticket.status
            audit.record(s, at=now, actor=actor, action="ticket.status_changed", subject_type="ticket",
                         subject_id=ticket.id, reason=reason, old=old, new=new)
            done["status"] = [old, new]
            self.bus.publish(s, StatusChanged(ticket, old, new, actor, reason, now))
        return done

    def do_link(self, s: Session, ticket_id: int, links: Iterable[tuple[str, str]], *, actor: Actor,
                now: datetime, reason: str | None = None) -> None:
        """Link transactions or refunds to a ticket from another part of the system (a refund
        request filed on a ticket), in the caller's unit of work; a link it already has is kept."""
        self.do_change(s, lock_ticket(s, ticket_id), TicketChange(links=tuple(links)), actor=actor, now=now,
                       reason=reason)

    # ---------------------------------------------------------------- the parts

    @staticmethod
    def _fields(ticket: Ticket, change: TicketChange) -> dict[str, list[Any]]:
        fields: dict[str, list[Any]] = {}
        for name in ("priority", "area", "subject"):
            value = getattr(change, name)
            if value is not None and getattr(ticket, name) != value:
                fields[name] = [getattr(ticket, name), value]
                setattr(ticket, name, value)
        old_tags = list(ticket.tags or [])
        tags = set(change.tags) if change.tags is not None else set(old_tags)
        tags = (tags | set(change.add_tags)) - set(change.remove_tags)
        if tags != set(old_tags):
            if len(tags) > MAX_TAGS:
                raise ValidationFailed(f"at most {MAX_TAGS} tags", field="tags")
            fields["tags"] = [old_tags, sorted(tags)]
            ticket.tags = sorted(tags)
        if change.custom_fields is not None:
            merged = {**(ticket.custom_fields or {}), **change.custom_fields}
            if merged != ticket.custom_fields:
                fields["custom_fields"] = [ticket.custom_fields, merged]
                ticket.custom_fields = merged
        return fields

    @staticmethod
    def _links(s: Session, ticket: Ticket, links: Iterable[tuple[str, str]], now: datetime) -> list[str]:
        """Add the links the ticket does not have yet; returns the new references."""
        added = []
        for kind, reference in links:
            if s.execute(select(TicketLink.id).where(TicketLink.ticket_id == ticket.id, TicketLink.kind == kind,
                                                     TicketLink.reference == reference)).first() is None:
                s.add(TicketLink(ticket_id=ticket.id, kind=kind, reference=reference, created_at=now))
                added.append(reference)
        if added:
            s.flush()
        return added

    def _assign(self, s: Session, ticket: Ticket, change: TicketChange, *, actor: Actor, reason: str | None,
                now: datetime) -> dict[str, list[Any]]:
        agent_id = ticket.assignee_id if isinstance(change.assignee_id, _Keep) else change.assignee_id
        team_id = change.team_id if change.team_id is not None else ticket.team_id
        if team_id != ticket.team_id and s.get(Team, team_id) is None:
            raise NotFound("team not found", team_id=team_id)
        if agent_id is not None and agent_id != ticket.assignee_id:
            agent = s.get(Agent, agent_id)
            if agent is None or not agent.active:
                raise NotFound("agent not found", agent_id=agent_id)
        previous, old_team = ticket.assignee_id, ticket.team_id
        if previous == agent_id and old_team == team_id:
            return {}
        ticket.assignee_id, ticket.team_id, ticket.updated_at = agent_id, team_id, now
        details: dict[str, Any] = {"old": previous, "new": agent_id}
        if old_team != team_id:
            details.update(old_team=old_team, new_team=team_id)
        audit.record(s, at=now, actor=actor, action="ticket.assigned", subject_type="ticket", subject_id=ticket.id,
                     reason=reason, **details)
        self.bus.publish(s, TicketAssigned(ticket, previous, old_team, actor, reason, now))
        done: dict[str, list[Any]] = {}
        if previous != agent_id:
            done["assignee_id"] = [previous, agent_id]
        if old_team != team_id:
            done["team_id"] = [old_team, team_id]
        return done

    @staticmethod
    def _set_status(ticket: Ticket, status: str, now: datetime) -> None:
        old = ticket.status
        ticket.status, ticket.updated_at = Status(status).value, now
        if status == Status.SOLVED:
            ticket.solved_at = now
        elif status == Status.CLOSED:
            ticket.closed_at = now
        elif old == Status.SOLVED:
            ticket.solved_at = None


def lock_ticket(s: Session, ticket_id: int) -> Ticket:
    """The ticket under its row lock, for the system's own changes (no viewer to check): the same
    lock agents take, so a customer's message and an agent's change never interleave."""
    ticket = s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket not found", ticket_id=ticket_id)
    return ticket
