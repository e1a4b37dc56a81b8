"""A ticket's SLA clocks as it changes: which targets start, pause, resume, end or move to another policy.

A new ticket starts its first response and resolution targets; a customer message after an
agent's reply starts a next response target, and the agent's reply fulfils the response targets.
Waiting on the customer (pending_customer) pauses every running target, keeping the business time
already used, and leaving that status resumes them from the time left. Solving fulfils the
resolution target and stops the others; closing or merging stops them all.

These hooks run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .models import SlaPolicy, SlaTarget, Ticket
from .sla_policies import matching_policy, policy_calendar, ticket_policy
from .sla_targets import (
    fulfil_target,
    pause_target,
    refresh_summary,
    resume_target,
    retarget,
    start_target,
    stop_target,
    ticket_targets,
)

RESPONSES = ("first_response", "next_response")


def _is_open(t: SlaTarget) -> bool:
    """Running or paused: not yet fulfilled nor stopped."""
    return t.fulfilled_at is None and (t.due_at is not None or t.paused_at is not None)


def on_ticket_created(s: Session, ticket: Ticket, now: datetime) -> None:
    policy = matching_policy(s, ticket)
    ticket.sla_policy_id = policy.id if policy else None
    if policy is not None and ticket.status not in ("solved", "closed", "merged"):
        _start_all(s, ticket, policy, now)
    refresh_summary(s, ticket)


def on_customer_message(s: Session, ticket: Ticket, now: datetime) -> None:
    policy = ticket_policy(s, ticket)
    if policy is None or ticket.status in ("solved", "closed", "merged"):
        return
    targets = ticket_targets(s, ticket)
    if any(_is_open(t) and t.metric in RESPONSES for t in targets):
        return  # the customer is still waiting for an answer: that clock already runs
    target = start_target(s, ticket, policy, "next_response", now)
    if ticket.status == "pending_customer":
        pause_target(s, target, policy_calendar(s, policy), now)
    refresh_summary(s, ticket)


def on_agent_reply(s: Session, ticket: Ticket, now: datetime) -> None:
    policy = ticket_policy(s, ticket)
    if policy is None:
        return
    calendar = policy_calendar(s, policy)
    for target in ticket_targets(s, ticket):
        if _is_open(target) and target.metric in RESPONSES:
            fulfil_target(s, target, calendar, now)
    refresh_summary(s, ticket)


def on_status_change(s: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    policy = ticket_policy(s, ticket)
    if policy is None:
        return
    calendar = policy_calendar(s, policy)
    targets = ticket_targets(s, ticket)
    if new in ("closed", "merged"):
        for target in targets:
            if _is_open(target):
                stop_target(s, target, calendar, now, reason=new)
        ticket.sla_paused_at = None
    elif new == "solved":
        for target in targets:
            if _is_open(target):
                if target.metric == "resolution":
                    fulfil_target(s, target, calendar, now)
                else:
                    stop_target(s, target, calendar, now, reason="solved")
        ticket.sla_paused_at = None
    else:
        if old == "solved" and not any(_is_open(t) and t.metric == "resolution" for t in targets):
            targets.append(start_target(s, ticket, policy, "resolution", now))
        if new == "pending_customer":
            for target in targets:
                if _is_open(target) and target.due_at is not None:
                    pause_target(s, target, calendar, now)
            ticket.sla_paused_at = now
        elif old == "pending_customer":
            for target in targets:
                if _is_open(target) and target.paused_at is not None:
                    resume_target(s, target, calendar, now)
            ticket.sla_paused_at = None
    refresh_summary(s, ticket)


def on_priority_change(s: Session, ticket: Ticket, now: datetime) -> None:
    if ticket.status in ("closed", "merged"):
        return
    old, new = ticket_policy(s, ticket), matching_policy(s, ticket)
    if (old.id if old else None) == (new.id if new else None):
        return
    old_calendar, new_calendar = policy_calendar(s, old), policy_calendar(s, new)
    ticket.sla_policy_id = new.id if new else None
    if new is None:
        for target in ticket_targets(s, ticket):
            if _is_open(target):
                stop_target(s, target, old_calendar, now, reason="no_policy")
        ticket.sla_paused_at = None
    elif old is None:
        if ticket.status != "solved":
            _start_all(s, ticket, new, now)
    else:
        for target in ticket_targets(s, ticket):
            if _is_open(target):
                retarget(s, target, old_calendar, new, new_calendar, now)
    refresh_summary(s, ticket)


def _start_all(s: Session, ticket: Ticket, policy: SlaPolicy, now: datetime) -> None:
    started = []
    if ticket.first_response_at is None:
        started.append(start_target(s, ticket, policy, "first_response", now))
    started.append(start_target(s, ticket, policy, "resolution", now))
    if ticket.status == "pending_customer":
        calendar = policy_calendar(s, policy)
        for target in started:
            pause_target(s, target, calendar, now)
        ticket.sla_paused_at = now
