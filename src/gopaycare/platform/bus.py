"""The message bus: domain events raised inside a unit of work, handled inside the same one.

A use case changes its rows and publishes what happened (`TicketChanged`, `MessagePosted`...); the
follow-on work each concern owns (SLA clocks, routing, triggers, search text, the agents' event
stream) is a handler subscribed once, when the application is assembled. So a new caller of a use
case cannot forget a step: it cannot even see them. (cosmicpython's message bus; Zulip's
`send_event_on_commit`.)

Handlers run synchronously, in the order they were subscribed, in the publisher's session; a handler
may itself call a use case that publishes (a trigger that solves a ticket): that event is handled
at once, depth first, as a direct call would be. Handlers never commit. Anything that leaves the
process is registered with `on_commit` (or written to the outbox) and happens only if the unit of
work commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E")
Handler = Callable[[Session, Any], None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[Session, E], None]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, session: Session, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(session, event)

    def handlers(self, event_type: type) -> list[Handler]:
        """Who handles an event, in order (what tests and a curious newcomer read)."""
        return list(self._handlers.get(event_type, ()))
