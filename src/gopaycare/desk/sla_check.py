"""The periodic SLA check: warn about targets due soon, breach the overdue ones and escalate.

On a breach the check raises the priority one step, audits it and tells every agent (supervisors
included). Escalation does not switch the ticket to the stricter policy of the new priority: a
breach should not make the other clocks breach at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.db import Database
from .changes import TicketChange, TicketChanges, lock_ticket
from .events import EventLog
from .models import SlaPolicy, SlaTarget, Ticket
from .sla_policies import ticket_policy
from .sla_targets import record_event, refresh_summary, ticket_targets

log = logging.getLogger(__name__)

ESCALATION = {"low": "normal", "normal": "high", "high": "urgent"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class SlaCheck:
    def __init__(self, db: Database, events: EventLog, changes: TicketChanges) -> None:
        self.db = db
        self.events = events
        self.changes = changes

    def run(self, now: datetime) -> dict[str, int]:
        """Warn about targets due soon and breach the overdue ones; one unit of work per ticket.
        Safe to run again: a target is warned once and breached once."""
        counts = {"warned": 0, "breached": 0, "escalated": 0, "failed": 0}
        with self.db.read() as s:
            longest_warning = s.execute(select(func.max(SlaPolicy.warn_before_minutes))).scalar_one() or 0
            horizon = now + timedelta(minutes=longest_warning)
            ticket_ids = list(s.scalars(
                select(SlaTarget.ticket_id).distinct()
                .where(SlaTarget.fulfilled_at.is_(None), SlaTarget.breached_at.is_(None),
                       or_(SlaTarget.due_at <= now,
                           and_(SlaTarget.warned_at.is_(None), SlaTarget.due_at <= horizon)))
                .order_by(SlaTarget.ticket_id)))
        for ticket_id in ticket_ids:
            try:
                with self.db.transaction() as s:
                    for key, value in self._check_ticket(s, ticket_id, now).items():
                        counts[key] += value
            except Exception:  # one broken ticket must not stop the clocks of all the others
                log.exception("SLA check failed for ticket %s", ticket_id)
                counts["failed"] += 1
        return counts

    def _check_ticket(self, s: Session, ticket_id: int, now: datetime) -> dict[str, int]:
        counts = {"warned": 0, "breached": 0, "escalated": 0}
        ticket = lock_ticket(s, ticket_id)
        state_before = ticket.sla_state
        policy = ticket_policy(s, ticket)
        warn = timedelta(minutes=policy.warn_before_minutes if policy else 0)
        for target in ticket_targets(s, ticket):
            if target.fulfilled_at is not None or target.due_at is None or target.breached_at is not None:
                continue
            if target.due_at <= now:
                target.breached_at = now
                record_event(s, target, "breached", now)
                counts["breached"] += 1
                counts["escalated"] += self._escalate(s, ticket, target, now)
            elif warn and target.warned_at is None and target.due_at - warn <= now:
                target.warned_at = now
                record_event(s, target, "warned", now)
                self.events.ticket_event(s, "sla.warning", ticket, now, metric=target.metric,
                                         due_at=_iso(target.due_at))
                counts["warned"] += 1
        refresh_summary(s, ticket)
        if ticket.sla_state != state_before:  # the inbox row changed: an event (and snapshot) for the agents
            self.events.ticket_event(s, "ticket.updated", ticket, now,
                                     changes={"sla_state": [state_before, ticket.sla_state]})
        return counts

    def _escalate(self, s: Session, ticket: Ticket, target: SlaTarget, now: datetime) -> int:
        old = ticket.priority
        new = ESCALATION.get(old, old)
        audit.record(s, at=now, actor=Actor.system(), action="sla.breached", subject_type="ticket",
                     subject_id=ticket.id, metric=target.metric, due_at=_iso(target.due_at), priority=[old, new])
        # Everyone (agent_id and team_id None): supervisors watch breaches across the desk.
        self.events.emit(s, "sla.breached", at=now, ticket_id=ticket.id, agent_id=None, team_id=None,
                         metric=target.metric, due_at=_iso(target.due_at), assignee_id=ticket.assignee_id,
                         team=ticket.team_id, priority=[old, new])
        if new == old:
            return 0
        self.changes.do_change(s, ticket, TicketChange(priority=new), actor=Actor.system(), now=now,
                               reason=f"SLA {target.metric} breached", escalation=True)
        return 1
