"""SLA policies and business calendars: creating them, and which policy (and calendar) a ticket is on.

A ticket gets the most specific active policy matching its priority and customer tier (then the
lowest `position`). The policy sets three targets in business minutes of its calendar (24x7
without one): first response, next response (each customer message after an agent's reply) and
resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, ValidationFailed
from ..wallet.rules import TIERS
from .calendar import Calendar
from .models import PRIORITIES, BusinessCalendar, SlaPolicy, Ticket

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


class SlaPolicies:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

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

    def listing(self) -> dict[str, list[dict[str, object]]]:
        """Every calendar and policy (the admin page's lists), policies in the order they are tried."""
        with self.db.read() as s:
            calendars = [{"id": c.id, "name": c.name, "timezone": c.timezone, "hours": c.hours,
                          "holidays": list(c.holidays or [])}
                         for c in s.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id).limit(200))]
            policies = [{"id": p.id, "name": p.name, "priority": p.priority, "customer_tier": p.customer_tier,
                         "first_response_minutes": p.first_response_minutes,
                         "next_response_minutes": p.next_response_minutes,
                         "resolution_minutes": p.resolution_minutes, "calendar_id": p.calendar_id,
                         "position": p.position}
                        for p in s.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id).limit(200))]
        return {"calendars": calendars, "policies": policies}


def matching_policy(s: Session, ticket: Ticket) -> SlaPolicy | None:
    """The policy the ticket's priority and customer tier call for now (None if none applies)."""
    candidates = s.scalars(select(SlaPolicy).where(
        SlaPolicy.active.is_(True),
        or_(SlaPolicy.priority.is_(None), SlaPolicy.priority == ticket.priority),
        or_(SlaPolicy.customer_tier.is_(None), SlaPolicy.customer_tier == ticket.customer_tier)))
    ranked = sorted(candidates, key=lambda p: (-(p.priority is not None) - (p.customer_tier is not None),
                                               p.position, p.id))
    return ranked[0] if ranked else None


def ticket_policy(s: Session, ticket: Ticket) -> SlaPolicy | None:
    """The policy the ticket's clocks run on."""
    return s.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id is not None else None


def policy_calendar(s: Session, policy: SlaPolicy | None) -> Calendar | None:
    """The policy's business calendar; None counts around the clock."""
    if policy is None or policy.calendar_id is None:
        return None
    row = s.get(BusinessCalendar, policy.calendar_id)
    if row is None:
        return None
    return Calendar.parse(row.timezone, row.hours, row.holidays)


def calendar_named(s: Session, name: str) -> Calendar | None:
    """The business calendar of this name (as created for the SLAs); None when there is none."""
    row = s.execute(select(BusinessCalendar).where(BusinessCalendar.name == name)).scalar_one_or_none()
    return Calendar.parse(row.timezone, row.hours, row.holidays) if row is not None else None
