"""One SLA target's clock: start, pause, resume, fulfil, stop and retarget it, and the ticket's summary.

Each running metric of a ticket is an `SlaTarget`. Every step is also an `SlaEvent`, so reports
can be rebuilt from `sla_events` alone:
  activated  a target starts (data: policy_id, target_minutes)
  paused     the ticket waits on the customer (data: used_seconds)
  resumed    it no longer does; due_at is the new due time (data: used_seconds)
  changed    a priority change moved the ticket to another policy (data: policy_id, old/new minutes)
  warned     due within the policy's warn_before_minutes (wall-clock minutes before due_at)
  breached   due time passed (due_at is when; `at` is when the check saw it)
  fulfilled  an agent replied / the ticket was solved (data: used_seconds, target_seconds, breached)
  stopped    ended without fulfilment: closed, merged, solved before a reply, or no policy applies
`warned` and `breached` are recorded by the periodic check (sla_check.py), the others here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .calendar import Calendar, add_business_seconds, business_seconds_between
from .models import SlaEvent, SlaPolicy, SlaTarget, Ticket
from .sla_policies import policy_calendar


def ticket_targets(s: Session, ticket: Ticket) -> list[SlaTarget]:
    return list(s.scalars(select(SlaTarget).where(SlaTarget.ticket_id == ticket.id).order_by(SlaTarget.id)))


def start_target(s: Session, ticket: Ticket, policy: SlaPolicy, metric: str, now: datetime) -> SlaTarget:
    minutes: int = getattr(policy, f"{metric}_minutes")
    target = SlaTarget(ticket_id=ticket.id, metric=metric, target_minutes=minutes, started_at=now,
                       due_at=add_business_seconds(now, minutes * 60, policy_calendar(s, policy)),
                       used_seconds=0)
    s.add(target)
    record_event(s, target, "activated", now, policy_id=policy.id, target_minutes=minutes)
    return target


def _used(target: SlaTarget, calendar: Calendar | None, now: datetime) -> int:
    """Business seconds used so far. While running, the due time says it: the target minus
    what is left until due (or plus what has passed since)."""
    if target.due_at is None:
        return target.used_seconds
    total = target.target_minutes * 60
    if now <= target.due_at:
        return total - business_seconds_between(now, target.due_at, calendar)
    return total + business_seconds_between(target.due_at, now, calendar)


def _used_with(target: SlaTarget, minutes: int, calendar: Calendar | None, now: datetime) -> int:
    current = target.target_minutes
    target.target_minutes = minutes
    try:
        return _used(target, calendar, now)
    finally:
        target.target_minutes = current


def pause_target(s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
    target.used_seconds = _used(target, calendar, now)
    target.due_at = None
    target.paused_at = now
    record_event(s, target, "paused", now, used_seconds=target.used_seconds)


def resume_target(s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
    left = target.target_minutes * 60 - target.used_seconds
    target.due_at = add_business_seconds(now, left, calendar)
    target.paused_at = None
    record_event(s, target, "resumed", now, used_seconds=target.used_seconds)


def fulfil_target(s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime) -> None:
    used = _used(target, calendar, now)
    total = target.target_minutes * 60
    target.used_seconds = used
    target.fulfilled_at = now
    target.paused_at = None
    record_event(s, target, "fulfilled", now, used_seconds=used, target_seconds=total,
                 breached=target.breached_at is not None or used > total)


def stop_target(s: Session, target: SlaTarget, calendar: Calendar | None, now: datetime, *, reason: str) -> None:
    # A stopped target keeps fulfilled_at empty (it was not met) and has neither due nor pause time.
    target.used_seconds = _used(target, calendar, now)
    record_event(s, target, "stopped", now, used_seconds=target.used_seconds, reason=reason)
    target.due_at = None
    target.paused_at = None


def retarget(s: Session, target: SlaTarget, old_calendar: Calendar | None, policy: SlaPolicy,
             calendar: Calendar | None, now: datetime) -> None:
    old_minutes = target.target_minutes
    minutes: int = getattr(policy, f"{target.metric}_minutes")
    target.target_minutes = minutes
    if target.due_at is not None:
        used = _used_with(target, old_minutes, old_calendar, now)
        target.due_at = add_business_seconds(now, minutes * 60 - used, calendar)
        if target.breached_at is None and target.warned_at is not None and \
                target.due_at - timedelta(minutes=policy.warn_before_minutes) > now:
            target.warned_at = None  # a later due time deserves its own warning
    else:
        used = target.used_seconds
    record_event(s, target, "changed", now, policy_id=policy.id, old_target_minutes=old_minutes,
                 target_minutes=minutes, used_seconds=used)


def record_event(s: Session, target: SlaTarget, kind: str, now: datetime, **data: Any) -> None:
    s.add(SlaEvent(ticket_id=target.ticket_id, metric=target.metric, kind=kind, at=now, due_at=target.due_at,
                   data=data))


def refresh_summary(s: Session, ticket: Ticket) -> None:
    """sla_next_due_at is the earliest due of the running targets (the inbox sorts "breaching
    soon" by it); sla_state sums up the open clocks, or the outcome once none is open."""
    targets = ticket_targets(s, ticket)
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
