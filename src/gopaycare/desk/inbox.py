"""The agents' inbox: tickets and conversations with filters, paginated by cursor.

Cursors are keyset positions (the sort value and the id of the last row), never offsets, so a page
is as fast at row 1,000,000 as at row 1 and a new ticket does not shift the next page. Each
ordering matches an index (see the Ticket model): my open tickets by update time, unassigned
tickets of an area oldest first, tickets by SLA due time.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import ValidationFailed
from .access import Viewer, visible
from .lifecycle import STATUSES
from .models import CHANNELS, SERVICE_AREAS, Conversation, Ticket

T = TypeVar("T")
ORDERS = {
    # name: (column, descending)
    "updated": (Ticket.updated_at, True),
    "created": (Ticket.created_at, False),
    "sla_due": (Ticket.sla_next_due_at, False),
}
SLA_FILTERS = ("breaching_soon", "breached", "paused", "active")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(value: Any, row_id: int) -> str:
    raw = json.dumps([{"t": value.isoformat()} if isinstance(value, datetime) else value, row_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MAX_ROW_ID = 2**63 - 1  # BIGINT
MAX_CURSOR = 200  # characters; ours are about 60


def _decode(cursor: str) -> tuple[datetime | None, int]:
    """A cursor of ours: [a time or null, a row id]. A client may send anything, so every part is
    checked for the shape _encode gives it before it reaches a query (a string where a time is
    compared, or an id past BIGINT, was a database error)."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        value, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if value is not None:
            value = datetime.fromisoformat(value["t"])
            if value.tzinfo is None:
                raise ValueError
        if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 <= row_id <= MAX_ROW_ID:
            raise ValueError
        return value, row_id
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise ValidationFailed("the cursor is not valid", field="cursor") from None


def _after(column: InstrumentedAttribute[Any], id_column: InstrumentedAttribute[int], descending: bool,
           cursor: str) -> Any:
    value, row_id = _decode(cursor)
    if value is None:
        # NULL sort values (no SLA due) come last in both orders: page on id among them.
        return and_(column.is_(None), id_column < row_id if descending else id_column > row_id)
    # A row-value comparison, so the index range starts at the cursor (an OR is only a filter).
    if descending:
        return tuple_(column, id_column) < tuple_(value, row_id)
    return tuple_(column, id_column) > tuple_(value, row_id)


@dataclass(frozen=True)
class TicketFilter:
    status: tuple[str, ...] = ()
    assignee: str | int | None = None  # "me", "none" or an agent id
    area: str | None = None
    channel: str | None = None
    team_id: int | None = None
    tag: str | None = None
    sla: str | None = None
    order: str = "updated"

    def check(self) -> None:
        if set(self.status) - set(STATUSES):
            raise ValidationFailed("unknown status", field="status")
        if self.area and self.area not in SERVICE_AREAS:
            raise ValidationFailed("unknown area", field="area")
        if self.channel and self.channel not in CHANNELS:
            raise ValidationFailed("unknown channel", field="channel")
        if self.sla and self.sla not in SLA_FILTERS:
            raise ValidationFailed(f"sla must be one of {', '.join(SLA_FILTERS)}", field="sla")
        if self.order not in ORDERS:
            raise ValidationFailed(f"order must be one of {', '.join(ORDERS)}", field="order")
        if isinstance(self.assignee, str) and self.assignee not in ("me", "none") and not (
                self.assignee.isascii() and self.assignee.isdigit() and int(self.assignee) <= MAX_ROW_ID):
            raise ValidationFailed("assignee is me, none or an agent id", field="assignee")


class Inbox:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def tickets(self, viewer: Viewer, f: TicketFilter, *, limit: int = 25, cursor: str | None = None,
                soon: timedelta = timedelta(hours=1)) -> Page[Ticket]:
        f.check()
        if not 1 <= limit <= 100:
            raise ValidationFailed("limit is 1 to 100", field="limit")
        column, descending = ORDERS["sla_due" if f.sla in ("breaching_soon", "active") else f.order]
        stmt = select(Ticket).where(visible(viewer))
        if f.status:
            stmt = stmt.where(Ticket.status.in_(f.status))
        else:
            stmt = stmt.where(Ticket.status != "merged")
        if f.assignee == "me":
            stmt = stmt.where(Ticket.assignee_id == viewer.agent.id)
        elif f.assignee == "none":
            stmt = stmt.where(Ticket.assignee_id.is_(None))
        elif f.assignee is not None:
            stmt = stmt.where(Ticket.assignee_id == int(f.assignee))
        if f.area:
            stmt = stmt.where(Ticket.area == f.area)
        if f.channel:
            stmt = stmt.where(Ticket.channel == f.channel)
        if f.team_id is not None:
            stmt = stmt.where(Ticket.team_id == f.team_id)
        if f.sla == "breaching_soon":
            now = self.clock.now()
            stmt = stmt.where(Ticket.sla_next_due_at.is_not(None), Ticket.sla_next_due_at <= now + soon,
                              Ticket.sla_state.in_(("active", "warning")))
        elif f.sla == "active":
            stmt = stmt.where(Ticket.sla_next_due_at.is_not(None))
        elif f.sla:
            stmt = stmt.where(Ticket.sla_state == f.sla)
        if cursor:
            stmt = stmt.where(_after(column, Ticket.id, descending, cursor))
        order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
        with self.db.read() as s:
            rows = list(s.scalars(stmt.order_by(*order).limit(limit + 1)))
        if f.tag:
            # Tags are a small JSON list; filtered here rather than with dialect-specific JSON SQL.
            rows = [t for t in rows if f.tag in (t.tags or [])]
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        return Page(page, _encode(getattr(last, column.key), last.id) if more and last else None)

    def conversations(self, viewer: Viewer, *, channel: str | None = None, status: str | None = None,
                      limit: int = 25, cursor: str | None = None) -> Page[Conversation]:
        if channel and channel not in CHANNELS:
            raise ValidationFailed("unknown channel", field="channel")
        if status and status not in ("open", "closed"):
            raise ValidationFailed("status is open or closed", field="status")
        if not 1 <= limit <= 100:
            raise ValidationFailed("limit is 1 to 100", field="limit")
        stmt = select(Conversation).join(Ticket, Ticket.id == Conversation.ticket_id).where(visible(viewer))
        if channel:
            stmt = stmt.where(Conversation.channel == channel)
        if status:
            stmt = stmt.where(Conversation.status == status)
        if cursor:
            _, row_id = _decode(cursor)
            stmt = stmt.where(Conversation.id < row_id)
        with self.db.read() as s:
            rows = list(s.scalars(stmt.order_by(Conversation.id.desc()).limit(limit + 1)))
        page = rows[:limit]
        return Page(page, _encode(None, page[-1].id) if len(rows) > limit else None)
