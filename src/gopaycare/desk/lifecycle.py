"""A ticket's lifecycle: its statuses and the moves between them, in one table.

Every status change of every caller (an agent, a trigger, an automation, the assistant, a merge, a
customer's message that reopens) is checked against `TRANSITIONS` by the one change use case
(`desk/changes.py`), so no other module spells out which move is allowed.

    new ──► open ◄──► pending_customer / on_hold
     │        │               │
     └────────┴──► solved ◄───┘ ──► closed (final)
    any but closed ──► merged (final; only a merge does it)
"""

from __future__ import annotations

from enum import StrEnum

from ..platform.errors import Conflict


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"
    MERGED = "merged"

    @property
    def final(self) -> bool:
        """Nothing changes any more: the customer's next message opens a new ticket."""
        return self in (Status.CLOSED, Status.MERGED)

    @property
    def takes_a_seat(self) -> bool:
        """Counts toward the assignee's capacity (and waits in the queue when unassigned)."""
        return self.value in SEAT_STATUSES

    @property
    def waiting(self) -> bool:
        """Waiting on the customer or put aside: a customer's message brings it back to open."""
        return self in (Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.SOLVED)


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# Plain strings, for SQL: tickets that take a seat of the assignee's capacity (the queue holds
# unassigned ones), and what an agent (or a rule acting for one) may set; "merged" comes from a merge.
SEAT_STATUSES: tuple[str, ...] = (Status.NEW.value, Status.OPEN.value)
SETTABLE: tuple[str, ...] = tuple(s.value for s in (Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD,
                                                    Status.SOLVED, Status.CLOSED))

_WORKING = {Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.SOLVED, Status.MERGED}
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(_WORKING),
    Status.OPEN: frozenset(_WORKING - {Status.OPEN}),
    Status.PENDING_CUSTOMER: frozenset(_WORKING - {Status.PENDING_CUSTOMER}),
    Status.ON_HOLD: frozenset(_WORKING - {Status.ON_HOLD}),
    Status.SOLVED: frozenset((_WORKING - {Status.SOLVED}) | {Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.MERGED: frozenset(),
}


def can_move(old: str, new: str) -> bool:
    return Status(new) in TRANSITIONS[Status(old)]


def check_move(old: str, new: str) -> None:
    """Refuse a move the table does not allow, saying why in the customer-support words agents use."""
    if can_move(old, new):
        return
    current = Status(old)
    if current is Status.MERGED:
        raise Conflict("a merged ticket cannot change", code="ticket_merged")
    if current is Status.CLOSED:
        raise Conflict("a closed ticket does not change; the customer's next message opens a new one",
                       code="invalid_transition", status=old)
    if new == Status.CLOSED:
        raise Conflict("only a solved ticket can be closed", code="invalid_transition", status=old)
    raise Conflict(f"a {old} ticket cannot become {new}", code="invalid_transition", status=old)


def check_open(status: str) -> None:
    """Refuse work on a ticket that is closed or merged (a reply, a macro, an assignment)."""
    if Status(status).final:
        raise Conflict(f"the ticket is {status}", code="ticket_closed", status=status)
