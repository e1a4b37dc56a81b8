"""Whether a person can take a chat now, and when one will: the chat's business calendar and the
agents online. What a customer handed to a person is told (assistant/engine.py) comes from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..platform.clock import Clock
from ..platform.db import Database
from .calendar import is_open, next_opening
from .routing import Router
from .sla_policies import calendar_named

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staffing:
    open: bool  # within the chat's business hours (no calendar: around the clock)
    online: int  # agents online now
    wait_minutes: int  # the expected wait for a person (routing's estimate)
    next_open: datetime | None  # when the calendar opens next, while it is closed
    tz: ZoneInfo | None  # the calendar's time zone, to say `next_open` in

    @property
    def nobody(self) -> bool:
        """No person will answer soon: outside business hours, or nobody online."""
        return not self.open or self.online == 0


class Availability:
    def __init__(self, db: Database, clock: Clock, routing: Router, calendar_name: str | None) -> None:
        self.db, self.clock, self.routing, self.calendar_name = db, clock, routing, calendar_name

    def now(self) -> Staffing:
        now = self.clock.now()
        calendar = None
        if self.calendar_name:
            with self.db.read() as s:
                calendar = calendar_named(s, self.calendar_name)
            if calendar is None:
                log.warning("the chat's business calendar does not exist; the chat counts as open",
                            extra={"calendar": self.calendar_name[:80]})
        open_now = is_open(now, calendar)
        return Staffing(open=open_now, online=self.routing.online(), wait_minutes=self.routing.expected_wait_minutes(),
                        next_open=None if open_now else next_opening(now, calendar),
                        tz=calendar.tz if calendar is not None else None)
