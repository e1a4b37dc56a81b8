"""SLA clocks: policies by priority and customer tier, targets per ticket, warnings and breaches.

`SlaEngine` is the one entry point; each job lives in its own module:
- `sla_policies.py`: creating business calendars and policies, and which policy a ticket gets;
- `sla_clocks.py`: the hooks that start, pause, resume and end a ticket's targets as it changes
  (inside the caller's unit of work);
- `sla_targets.py`: one target's business-time arithmetic, its `SlaEvent` rows, the ticket's summary;
- `sla_check.py`: the periodic job that warns, breaches and escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database
from . import sla_clocks
from .changes import TicketChanges
from .events import EventLog
from .models import Ticket
from .sla_check import SlaCheck
from .sla_policies import SlaPolicies


class SlaEngine:
    def __init__(self, db: Database, clock: Clock, events: EventLog, changes: TicketChanges) -> None:
        self._policies = SlaPolicies(db, clock)
        self._check = SlaCheck(db, events, changes)

    # ---------------------------------------------------------------- setup

    def create_calendar(self, name: str, *, timezone: str = "Asia/Jakarta", hours: dict[str, list[list[str]]],
                        holidays: Sequence[str] = ()) -> int:
        return self._policies.create_calendar(name, timezone=timezone, hours=hours, holidays=holidays)

    def create_policy(self, name: str, *, first_response_minutes: int, next_response_minutes: int,
                      resolution_minutes: int, priority: str | None = None, customer_tier: str | None = None,
                      calendar_id: int | None = None, warn_before_minutes: int = 15, position: int = 0) -> int:
        return self._policies.create_policy(
            name, first_response_minutes=first_response_minutes, next_response_minutes=next_response_minutes,
            resolution_minutes=resolution_minutes, priority=priority, customer_tier=customer_tier,
            calendar_id=calendar_id, warn_before_minutes=warn_before_minutes, position=position)

    def listing(self) -> dict[str, list[dict[str, object]]]:
        return self._policies.listing()

    # ---------------------------------------------------------------- hooks (caller's unit of work)

    def on_ticket_created(self, s: Session, ticket: Ticket, now: datetime) -> None:
        sla_clocks.on_ticket_created(s, ticket, now)

    def on_customer_message(self, s: Session, ticket: Ticket, now: datetime) -> None:
        sla_clocks.on_customer_message(s, ticket, now)

    def on_agent_reply(self, s: Session, ticket: Ticket, now: datetime) -> None:
        sla_clocks.on_agent_reply(s, ticket, now)

    def on_status_change(self, s: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
        sla_clocks.on_status_change(s, ticket, old, new, now)

    def on_priority_change(self, s: Session, ticket: Ticket, now: datetime) -> None:
        sla_clocks.on_priority_change(s, ticket, now)

    # ---------------------------------------------------------------- the periodic check

    def check(self, now: datetime) -> dict[str, int]:
        """Warn about targets due soon and breach the overdue ones; see `SlaCheck.run`."""
        return self._check.run(now)
