"""Single-use WebSocket tickets: how a browser opens a socket without a lasting credential in its URL.

A browser cannot set headers on a WebSocket, and a URL is written to access logs, proxies and
history. So a client that is already authenticated asks (a POST with its bearer token) for a
ticket, and opens the socket with `?ticket=…` within GOPAYCARE_SOCKET_TICKET_TTL_SECONDS (30 s).
A ticket opens one socket of one kind ("events" for agents, "chat" for customers and visitors)
once: the first redemption spends it. It stands for the credential it was issued with (the keyed
hash of the bearer token, so a revoked token's ticket fails, and the stream can check that token
again later) and, for a visitor, the visitor id already verified. Only the ticket's keyed hash is
stored; spent and expired rows are deleted as new tickets are issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Unauthenticated
from .hashing import SecretHasher
from .models import SocketTicket

PREFIX = "gpt_"
AUDIENCES = ("events", "chat")


@dataclass(frozen=True)
class Redeemed:
    """What a ticket stood for: a bearer token's keyed hash and/or a verified visitor id."""

    token_hash: str | None
    visitor_id: str | None


class SocketTickets:
    def __init__(self, db: Database, clock: Clock, hasher: SecretHasher, ttl: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher
        self.ttl = ttl

    def issue(self, audience: str, *, token: str | None = None, visitor_id: str | None = None) -> tuple[str, int]:
        """A new ticket for `audience` standing for `token` (raw; only its hash is kept) and/or a
        visitor id the caller verified. Returns the ticket and its lifetime in seconds."""
        if audience not in AUDIENCES or (token is None and visitor_id is None):
            raise ValueError("a ticket stands for a token or a visitor of the events or chat socket")
        ticket = PREFIX + self.hasher.new_token()
        now = self.clock.now()
        with self.db.transaction() as s:
            # Keep the table to what can still be redeemed (a ticket is good for seconds).
            s.execute(delete(SocketTicket).where(SocketTicket.created_at < now - self.ttl - timedelta(minutes=1)))
            s.add(SocketTicket(ticket_hash=self.hasher.keyed(ticket), audience=audience,
                               token_hash=self.hasher.keyed(token) if token is not None else None,
                               visitor_id=visitor_id, created_at=now, expires_at=now + self.ttl))
        return ticket, int(self.ttl.total_seconds())

    def redeem(self, audience: str, ticket: str) -> Redeemed:
        """Spend a ticket (once, whoever comes first); Unauthenticated for anything else."""
        invalid = Unauthenticated("the socket ticket is invalid, expired or used", code="ticket_invalid")
        if not isinstance(ticket, str) or not ticket.startswith(PREFIX) or len(ticket) > 100:
            raise invalid
        now = self.clock.now()
        ticket_hash = self.hasher.keyed(ticket)
        with self.db.transaction() as s:
            spent = s.execute(update(SocketTicket).where(
                SocketTicket.ticket_hash == ticket_hash, SocketTicket.audience == audience,
                SocketTicket.used_at.is_(None), SocketTicket.expires_at > now).values(used_at=now)).rowcount
            if not spent:
                raise invalid
            row = s.execute(select(SocketTicket.token_hash, SocketTicket.visitor_id)
                            .where(SocketTicket.ticket_hash == ticket_hash)).one()
            return Redeemed(row.token_hash, row.visitor_id)
