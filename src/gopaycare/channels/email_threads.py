"""What our reply on an email thread must name so the customer's client files it under their mail:
the customer's latest Message-ID (In-Reply-To) and the chain before it (References), per thread token
and customer address. Written when a mail arrives, read when the outbox sends the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.clock import Clock
from ..platform.db import Base, BigId, Database, UTCDateTime

MAX_REFERENCES = 10  # the root and the latest ones: enough for every client to thread


class EmailThread(Base):
    __tablename__ = "email_threads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(254), nullable=False)
    last_message_id: Mapped[str] = mapped_column(String(200), nullable=False)
    reference_ids: Mapped[str] = mapped_column(Text, nullable=False)  # Message-IDs, space-separated
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("token", "address", name="uq_email_threads_token_address"),)


@dataclass(frozen=True)
class ReplyHeaders:
    in_reply_to: str
    references: str


class EmailThreads:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def remember(self, token: str, address: str, message_id: str, references: list[str]) -> None:
        """The customer's latest mail on this thread (a hash id, for a mail without one, is not named)."""
        if not message_id.startswith("<"):
            return
        chain = [*[r for r in references if r != message_id], message_id]
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1):]]
        for _ in range(2):  # a concurrent first mail of the same thread inserts first: update it then
            try:
                with self.db.transaction() as s:
                    row = s.execute(select(EmailThread).where(EmailThread.token == token,
                                                              EmailThread.address == address)).scalar_one_or_none()
                    if row is None:
                        row = EmailThread(token=token, address=address)
                        s.add(row)
                    row.last_message_id, row.reference_ids = message_id, " ".join(chain)
                    row.updated_at = self.clock.now()
                return
            except IntegrityError:
                continue

    def reply_headers(self, token: str, address: str) -> ReplyHeaders | None:
        """The customer's latest mail on the thread from this address (or, when the reply goes to
        another of the contact's addresses, from any)."""
        with self.db.read() as s:
            stmt = select(EmailThread).where(EmailThread.token == token)
            row = s.execute(stmt.where(EmailThread.address == address.lower())).scalar_one_or_none() or \
                s.execute(stmt.order_by(EmailThread.updated_at.desc(), EmailThread.id.desc()).limit(1)).scalar()
            return ReplyHeaders(row.last_message_id, row.reference_ids) if row else None
