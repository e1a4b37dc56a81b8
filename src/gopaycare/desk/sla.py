"""SLA clocks: policies by priority and customer tier, targets per ticket, warnings and breaches.

A ticket gets the most specific active policy matching its priority and customer tier (then the
lowest `position`). The policy sets three targets in business minutes of its calendar (24x7
without one): first response, next response (each customer message after an agent's reply) and
resolution. Each running metric is an `SlaTarget`; waiting on the customer (pending_customer)
pauses every running target, keeping the business time already used, and leaving that status
resumes them from the time left.

Every step is also an `SlaEvent`, so reports can be rebuilt from `sla_events` alone:
  activated  a target starts (data: policy_id, target_minutes)
  paused     the ticket waits on the customer (data: used_seconds)
  resumed    it no longer does; due_at is the new due time (data: used_seconds)
  changed    a priority change moved the ticket to another policy (data: policy_id, old/new minutes)
  warned     due within the policy's warn_before_minutes (wall-clock minutes before due_at)
  breached   due time passed (due_at is when; `at` is when the check saw it)
  fulfilled  an agent replied / the ticket was solved (data: used_seconds, target_seconds, breached)
  stopped    ended without fulfilment: closed, merged, solved before a reply, or no policy applies

`check` is the periodic job: it warns, and on a breach raises the priority one step, audits it
and tells every agent (supervisors included). Escalation does not switch the ticket to the
stricter policy of the new priority: a breach should not make the other clocks breach at once.
The hooks (`on_*`, `stop`) run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, ValidationFailed
from ..wallet.rules import TIERS
from .calendar import Calendar, add_business_seconds, business_seconds_between
from .changes import TicketChange, TicketChanges, lock_ticket
from .events import EventLog
from .models import PRIORITIES, BusinessCalendar, SlaEvent, SlaPolicy, SlaTarget, Ticket

log = logging.getLogger(__name__)

METRICS = ("first_response", "next_response", "resolution")
RESPONSES = ("first_response", "next_response")
ESCALATION = {"low": "normal", "normal": "high", "high": "urgent"}
MAX_MINUTES = 366 * 24 * 60


def _name(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= 80:
        raise ValidationFailed("a name is 1 to 80 characters", field="name")
    return name


def _whole(value: object, field: str, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed(f"{field} is a whole number from {low} to {high}", field=field)
    return value


def _is_open(t: SlaTarget) -> bool:
    """Running or paused: not yet fulfilled nor stopped."""
    return t.fulfilled_at is None and (t.due_at is not None or t.paused_at is not None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class SlaEngine:
    def __init__(self, db: Database, clock: Clock, events: EventLog, changes: TicketChanges) -> None:
        self.db = db
        self.clock = clock
        self.events = events
        self.changes = changes

    # ---------------------------------------------------------------- setup

    def create_calendar(self, name: str, *, timezone: str = "Asia/Jakarta", hours: dict[str, list[list[str]]],
                        holidays: Sequence[str] = ()) -> int:
        name = _name(name)
        calendar = Calendar.parse(timezone, hours, list(holidays))
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                if s.execute(select(BusinessCalendar.id).where(BusinessCalendar.name == name)).first():
                    raise Conflict("a calendar with this name exists", code="calendar_exists")
                row = BusinessCalendar(name=name, timezone=calendar.timezone, hours=calendar.hours_json(),
                                       holidays=calendar.holidays_json(), created_at=now)
                s.add(row)
                s.flush()
                audit.record(s, at=now, actor=Actor.system(), action="sla.calendar_created",
                             subject_type="business_calendar", subject_id=row.id, name=name,
                             timezone=calendar.timezone)
                return row.id
        except IntegrityError:
            raise Conflict("a calendar with this name exists", code="calendar_exists") from None

    def create_policy(self, name: str, *, first_response_minutes: int, next_response_minutes: int,
                      resolution_minutes: int, priority: str | None = None, customer_tier: str | None = None,
                      calendar_id: int | None = None, warn_before_minutes: int = 15, position: int = 0) -> int:
        name = _name(name)
        minutes = {field: _whole(value, field, low=1, high=MAX_MINUTES) for field, value in (
            ("first_response_minutes", first_response_minutes), ("next_response_minutes", next_response_minutes),
            ("resolution_minutes", resolution_minutes))}
        warn = _whole(warn_before_minutes, "warn_before_minutes", low=0, high=MAX_MINUTES)
        position = _whole(position, "position", low=-1_000_000, high=1_000_000)
        if priority is not None and priority not in PRIORITIES:
            raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)} (or none for any)",
                                   field="priority")
        if customer_tier is not None and customer_tier not in TIERS:
            raise ValidationFailed(f"customer_tier must be one of {', '.join(TIERS)} (or none for any)",
                                   field="customer_tier")
        now = self.clock.now()
        with self.db.transaction() as s:
            if calendar_id is not None and s.get(BusinessCalendar, calendar_id) is None:
                raise ValidationFailed("no such business calendar", field="calendar_id", calendar_id=calendar_id)
            policy = SlaPolicy(name=name, priority=priority, customer_tier=customer_tier, calendar_id=calendar_id,
                               warn_before_minutes=warn, position=position, active=True, created_at=now, **minutes)
            s.add(policy)
            s.flush()
            audit.record(s, at=now, actor=Actor.system(), action="sla.policy_created", subject_type="sla_policy",
                         subject_id=policy.id, name=name, priority=priority, customer_tier=customer_tier,
                         calendar_id=calendar_id, warn_before_minutes=warn, position=position, **minutes)
            return policy.id

    # ---------------------------------------------------------------- hooks (caller's unit of work)

    def on_ticket_created(self, s: Session, ticket: Ticket, now: datetime) -> None:
        policy = self._pick(s, ticket)
        ticket.sla_policy_id = policy.id if policy else None
        if policy is not None and ticket.status not in ("solved", "closed", "merged"):
            self._start_all(s, ticket, policy, now)
        self._refresh(s, ticket)

    def on_customer_message(self, s: Session, ticket: Ticket, now: datetime) -> None:
        policy = self._policy(s, ticket)
        if policy is None or ticket.status in ("solved", "closed", "merged"):
            return
        targets = self._targets(s, ticket)
        if any(_is_open(t) and t.metric in RESPONSES for t in targets):
            return  # the customer is still waiting for an answer: that clock already runs
        target = self._start(s, ticket, policy, "next_response", now)
        if ticket.status == "pending_customer":
            self._pause(s, target, self._calendar(s, policy), now)
        self._refresh(s, ticket)

    def on_agent_reply(self, s: Session, ticket: Ticket, now: datetime) -> None:
        policy = self._policy(s, ticket)
        if policy is None:
            return
        calendar = self._calendar(s, policy)
        for target in self._targets(s, ticket):
            if _is_open(target) and target.metric in RESPONSES:
                self._fulfil(s, target, calendar, now)
        self._refresh(s, ticket)

    def on_status_change(self, s: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
        policy = self._policy(s, ticket)
        if policy is None:
            return
        calendar = self._calendar(s, policy)
        targets = self._targets(s, ticket)
        if new in ("closed", "merged"):
            for target in targets:
                if _is_open(target):
                    self._stop(s, target, calendar, now, reason=new)
            ticket.sla_paused_at = None
        elif new == "solved":
            for target in targets:
                if _is_open(target):
                    if target.metric == "resolution":
                        self._fulfil(s, target, calendar, now)
                    else:
                        self._stop(s, target, calendar, now, reason="solved")
            ticket.sla_paused_at = None
        else:
            if old == "solved" and not any(_is_open(t) and t.metric == "resolution" for t in targets):
                targets.append(self._start(s, ticket, policy, "resolution", now))
            if new == "pending_customer":
                for target in targets:
                    if _is_open(target) and target.due_at is not None:
                        self._pause(s, target, calendar, now)
                ticket.sla_paused_at = now
            elif old == "pending_customer":
                for target in targets:
                    if _is_open(target) and target.paused_at is not None:
                        self._resume(s, target, calendar, now)
                ticket.sla_paused_at = None
        self._refresh(s, ticket)

    def on_priority_change(self, s: Session, ticket: Ticket, now: datetime) -> None:
        if ticket.status in ("closed", "merged"):
            return
        old, new = self._policy(s, ticket), self._pick(s, ticket)
        if (old.id if old else None) == (new.id if new else None):
            return
        old_calendar, new_calendar = self._calendar(s, old), self._calendar(s, new)
        ticket.sla_policy_id = new.id if new else None
        if new is None:
            for target in self._targets(s, ticket):
                if _is_open(target):
                    self._stop(s, target, old_calendar, now, reason="no_policy")
            ticket.sla_paused_at = None
        elif old is None:
            if ticket.status != "solved":
                self._start_all(s, ticket, new, now)
        else:
            for target in self._targets(s, ticket):
                if _is_open(target):
                    self._retarget(s, target, old_calendar, new, new_calendar, now)
        self._refresh(s, ticket)

    def stop(self, s: Session, ticket: Ticket, now: datetime) -> None:
        policy = self._policy(s, ticket)
        calendar = self._calendar(s, policy)
        for target in self._targets(s, ticket):
            if _is_open(target):
                self._stop(s, target, calendar, now, reason="stopped")
        ticket.sla_paused_at = None
        self._refresh(s, ticket)

    # ---------------------------------------------------------------- the periodic check

    def check(self, now: datetime) -> dict[str, int]:
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
        policy = self._policy(s, ticket)
        warn = timedelta(minutes=policy.warn_before_minutes if policy else 0)
        for target in self._targets(s, ticket):
            if target.fulfilled_at is not None or target.due_at is None or target.breached_at is not None:
                continue
            if target.due_at <= now:
                target.breached_at = now
                self._event(s, target, "breached", now)
                counts["breached"] += 1
                counts["escalated"] += self._escalate(s, ticket, target, now)
            elif warn and target.warned_at is None and target.due_at - warn <= now:
                target.warned_at = now
                self._event(s, target, "warned", now)
                self.events.ticket_event(s, "sla.warning", ticket, now, metric=target.metric,
                                         due_at=_iso(target.due_at))
                counts["warned"] += 1
        self._refresh(s, ticket)
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

    # ---------------------------------------------------------------- policies and calendars

    def _pick(self, s: Session, ticket: Ticket) -> SlaPolicy | None:
        candidates = s.scalars(select(SlaPolicy).where(
            SlaPolicy.active.is_(True),
            or_(SlaPolicy.priority.is_(None), SlaPolicy.priority == ticket.priority),
            or_(SlaPolicy.customer_tier.is_(None), SlaPolicy.customer_tier == ticket.customer_tier)))
        ranked = sorted(candidates, key=lambda p: (-(p.priority is not None) - (p.customer_tier is not None),
                                                   p.position, p.id))
        return ranked[0] if ranked else None

    def _policy(self, s: Session, ticket: Ticket) -> SlaPolicy | None:
        return s.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id is not None else None

    def _calendar(self, s: Session, policy: SlaPolicy | None) -> Calendar | None:
        if policy is None or policy.calendar_id is None:
            return None
        row = s.get(BusinessCalendar, policy.calendar_id)
        if row is None:
            return None
        return Calendar.parse(row.timezone, row.hours, row.holidays)

    # ---------------------------------------------------------------- targets

    def _targets(self, s: Session, ticket: Ticket) -> list[SlaTarget]:
        return list(s.scalars(select(SlaTarget).where(SlaTarget.ticket_id == ticket.id).order_by(SlaTarget.id)))

    def _start_all(self, s: Session, ticket: Ticket, policy: SlaPolicy, now: datetime) -> None:
        started = []
        if ticket.first_response_at is None:
            started.append(self._start(s, ticket, policy, "first_response", now))
        started.append(self._start(s, ticket, policy, "resolution", now))
        if ticket.status == "pending_customer":
            calendar = self._calendar(s, policy)
            for target in started:
                self._pause(s, target, calendar, now)
            ticket.sla_paused_at = now

    def _start(self, s: Session, ticket: Ticket, policy: SlaPolicy, metric: str, now: datetime) -> SlaTarget:
        minutes: int = getattr(policy, f"{metric}_minutes")
        target = SlaTarget(ticket_id=ticket.id, metric=metric, target_minutes=minutes, started_at=now,
                           due_at=add_business_seconds(now, minutes * 60, self._calendar(s, policy)),
                           used_seconds=0)
        s.add(target)
        self._event(s, target, "activated", now, policy_id=policy.id, target_minutes=minutes)
        return target

    @staticmethod
    def _used(target: SlaTarget, calendar: Calendar | None, now: datetime) -> int:
        """Business seconds used so far. While running, the due time says it: the target minus
        what is left until due (or plus what has passed since)."""
        if target.due_at is None:
            return target.used_seconds
        total = target.target_minutes * 60
        if now <= target.due_at:
            return total - business_seconds_between(now, target.due_at, calendar)
        return total + business_seconds_between(target.due_at, now, calendar)

    def _pause(self, s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
        target.used_seconds = self._used(target, calendar, now)
        target.due_at = None
        target.paused_at = now
        self._event(s, target, "paused", now, used_seconds=target.used_seconds)

    def _resume(self, s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
        left = target.target_minutes * 60 - target.used_seconds
        target.due_at = add_business_seconds(now, left, calendar)
        target.paused_at = None
        self._event(s, target, "resumed", now, used_seconds=target.used_seconds)

    def _fulfil(self, s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
        used = self._used(target, calendar, now)
        total = target.target_minutes * 60
        target.used_seconds = used
        target.fulfilled_at = now
        target.paused_at = None
        self._event(s, target, "fulfilled", now, used_seconds=used, target_seconds=total,
                    breached=target.breached_at is not None or used > total)

    def _stop(self, s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime, *, reason: str) -> None:
        # A stopped target keeps fulfilled_at empty (it was not met) and has neither due nor pause time.
        target.used_seconds = self._used(target, calendar, now)
        self._event(s, target, "stopped", now, used_seconds=target.used_seconds, reason=reason)
        target.due_at = None
        target.paused_at = None

    def _retarget(self, s: Session, target: SlaTarget, old_calendar: Calendar | None, policy: SlaPolicy,
                  calendar: Calendar | None, now: datetime) -> None:
        old_minutes = target.target_minutes
        minutes: int = getattr(policy, f"{target.metric}_minutes")
        target.target_minutes = minutes
        if target.due_at is not None:
            used = self._used_with(target, old_minutes, old_calendar, now)
            target.due_at = add_business_seconds(now, minutes * 60 - used, calendar)
            if target.breached_at is None and target.warned_at is not None and \
                    target.due_at - timedelta(minutes=policy.warn_before_minutes) > now:
                target.warned_at = None  # a later due time deserves its own warning
        else:
            used = target.used_seconds
        self._event(s, target, "changed", now, policy_id=policy.id, old_target_minutes=old_minutes,
                    target_minutes=minutes, used_seconds=used)

    def _used_with(self, target: SlaTarget, minutes: int, calendar: Calendar | None, now: datetime) -> int:
        current = target.target_minutes
        target.target_minutes = minutes
        try:
            return self._used(target, calendar, now)
        finally:
            target.target_minutes = current

    def _event(self, s: Session, target: SlaTarget, kind: str, now: datetime, **data: Any) -> None:
        s.add(SlaEvent(ticket_id=target.ticket_id, metric=target.metric, kind=kind, at=now, due_at=target.due_at,
                       data=data))

    # ---------------------------------------------------------------- the ticket's summary

    def _refresh(self, s: Session, ticket: Ticket) -> None:
        """sla_next_due_at is the earliest due of the running targets (the inbox sorts "breaching
        soon" by it); sla_state sums up the open clocks, or the outcome once none is open."""
        targets = self._targets(s, ticket)
        running = [t for t in targets if t.fulfilled_at is None and t.due_at is not None]
        paused = [t for t in targets if t.fulfilled_at is None and t.paused_at is not None]
        ticket.sla_next_due_at = min((t.due_at for t in running if t.due_at is not None), default=None)
        if running:
            state = ("breached" if any(t.breached_at for t in running) else
                     "warning" if any(t.warned_at for t in running) else "active")
        elif paused:
            state = "paused"
        elif any(t.breached_at is not None or (t.fulfilled_at is not None and t.used_seconds > t.target_minutes * 60)
                 for t in targets):
            state = "breached"
        elif any(t.fulfilled_at is not None for t in targets):
            state = "met"
        else:
            state = "none"
        ticket.sla_state = state
