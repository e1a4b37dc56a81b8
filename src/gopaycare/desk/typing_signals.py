"""Typing indicators on a conversation, both ways: pushed, throttled, never stored.

The customer's app says it is typing: the agents who follow the ticket (the same ones who get its
`message.created`: its assignee, its team, the supervisors) get an ephemeral `typing` event on their
stream. An agent typing on the ticket: the customer's live chat says `{"type": "typing", "who":
"agent"}` (desk/customer_live.py). Both go through the hub's `signal` (events.py), so they cross
processes with Redis, and take no row and no event id.

Apps say "typing" on every key press; at most one signal per conversation and side is passed on
every THROTTLE_SECONDS. The throttle is kept in memory, per process (with N processes behind a load
balancer, at most N per window), so it costs no write. A signal lost (a process restarting, Redis
down, a socket reconnecting) costs a missing "…" bubble and nothing else: the client hides it after
a few seconds anyway, and the messages themselves are the record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import select

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import NotFound
from .access import Viewer, access_ticket
from .events import EventHub
from .models import Conversation, Ticket

THROTTLE_SECONDS = 2.0
# Conversations whose last signal is remembered; older ones are forgotten first (memory stays bounded).
MAX_TRACKED = 10_000


class TypingSignals:
    def __init__(self, db: Database, clock: Clock, hub: EventHub, *, throttle: float = THROTTLE_SECONDS) -> None:
        self.db, self.clock, self.hub, self.throttle = db, clock, hub, throttle
        self._last: OrderedDict[tuple[str, int], datetime] = OrderedDict()
        self._lock = threading.Lock()

    def customer_typing(self, conversation_id: int) -> bool:
        """The customer is typing in their conversation (the caller checked it is theirs). True if
        the signal was passed on, False if throttled or the conversation has no ticket yet."""
        now = self.clock.now()
        if not self._due(("customer", conversation_id), now):
            return False
        with self.db.read() as s:
            ticket = s.execute(select(Ticket.id, Ticket.assignee_id, Ticket.team_id)
                               .join(Conversation, Conversation.ticket_id == Ticket.id)
                               .where(Conversation.id == conversation_id)).one_or_none()
        if ticket is None:
            return False
        self.hub.signal("typing", at=now, ticket_id=ticket.id, agent_id=ticket.assignee_id, team_id=ticket.team_id,
                        conversation_id=conversation_id, who="customer")
        return True

    def agent_typing(self, viewer: Viewer, conversation_id: int) -> bool:
        """An agent is typing a reply on a conversation of a ticket they may see (NotFound otherwise,
        as if it did not exist). True if passed on, False if throttled."""
        with self.db.read() as s:
            conversation = s.get(Conversation, conversation_id)
            if conversation is None or conversation.ticket_id is None:
                raise NotFound("conversation not found", conversation_id=conversation_id)
            ticket = access_ticket(s, viewer, conversation.ticket_id)
            ticket_id, assignee_id, team_id = ticket.id, ticket.assignee_id, ticket.team_id
        now = self.clock.now()
        if not self._due(("agent", conversation_id), now):
            return False
        # Other agents on the ticket see who (a collision warning); the customer only "an agent".
        self.hub.signal("typing", at=now, ticket_id=ticket_id, agent_id=assignee_id, team_id=team_id,
                        conversation_id=conversation_id, who="agent", typing_agent_id=viewer.agent.id)
        return True

    def _due(self, key: tuple[str, int], now: datetime) -> bool:
        with self._lock:
            last = self._last.get(key)
            # A clock set back counts as a new window rather than silencing the conversation.
            if last is not None and 0 <= (now - last).total_seconds() < self.throttle:
                return False
            self._last[key] = now
            self._last.move_to_end(key)
            while len(self._last) > MAX_TRACKED:
                self._last.popitem(last=False)
            return True
