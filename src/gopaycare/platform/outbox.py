"""The outbox: everything that leaves the system goes through here, once.

One-time codes by SMS or email, agents' and the assistant's replies on a conversation's channel,
notifications: each is a row in `outbox_messages`, written in the same transaction as the change
that causes it (a rolled-back reset sends nothing), and delivered by a job after commit.

Delivery (`deliver`) claims the row for CLAIM_SECONDS in a short transaction, sends with no lock or
transaction held (a provider timeout must not stop other writers: on SQLite one held write lock
stops every writer), then records the outcome and the provider's message id. A failure that may pass
(a timeout, a 5xx) is retried with exponential backoff, BACKOFF_SECONDS * 2^(attempt-1), until
MAX_ATTEMPTS, then the row is `failed` for good; a refusal that cannot pass (the provider rejects
the address) fails at once. A worker that dies mid-send leaves the claim to expire and the sweep
sends it again, so delivery is at least once. A channel with no sender configured keeps its
messages `held` (the demo reads codes there); they are queued again once a sender is registered,
unless they expired (a code is worth nothing after its lifetime).

Providers' receipts (`record_receipt`: delivered, read; `record_read_up_to`: a read watermark) only
move a message forward. Whoever
needs to know the outcome of a delivery (the help desk mirrors it onto the conversation's message
and tells the agent when a reply failed) subscribes once with `on_outcome`; listeners run inside the
transaction that records the outcome.

Senders are registered per channel (`register`), by the channel adapters, from settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import work_queue
from .clock import Clock
from .db import Base, BigId, Database, UTCDateTime, on_commit
from .pii import mask_email, mask_phone

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120  # longer than any sender's timeout
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30
# A queued message whose own job has not run after this long is the sweep's (the job was lost).
LOST_JOB_SECONDS = 60
STATUSES = ("queued", "sent", "delivered", "read", "held", "failed", "expired")
# A receipt only moves a message forward along this order.
_PROGRESS = {"sent": 1, "delivered": 2, "read": 3}


class OutboxMessage(Base):
    """One message to deliver, and what happened to it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    # The recipient's address on the channel (phone, email, provider user id; a chat conversation).
    destination: Mapped[str] = mapped_column(String(254), nullable=False)
    # The channel's own thread (an email thread, a provider conversation id), when it has one.
    thread: Mapped[str | None] = mapped_column(String(254))
    # The channel account it leaves from (channels/accounts.py); None: the one the settings define.
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    # The recipient's language, for what a provider makes us send in words of its own (a template).
    language: Mapped[str | None] = mapped_column(String(5))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # What this delivers, for whoever listens to outcomes (("message", id): a help desk message).
    source_type: Mapped[str | None] = mapped_column(String(16))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While a worker sends, the message is claimed until this time; no lock is held during the send.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The next try of a message whose last one failed (backoff); None: as soon as possible.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this time the message is not worth sending (a one-time code).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        Index("ix_outbox_status", "status", "id"),
        Index("ix_outbox_source", "source_type", "source_id"),
        Index("ix_outbox_provider", "channel", "provider_message_id"),
        # A read watermark marks what was sent to one person (record_read_up_to).
        Index("ix_outbox_destination", "channel", "destination", "status"),
    )

    @property
    def masked_destination(self) -> str | None:
        if "@" in self.destination:
            return mask_email(self.destination)
        if self.destination.startswith("+"):
            return mask_phone(self.destination)
        return self.destination


class DeliveryError(Exception):
    """A delivery that may succeed later (provider down, a timeout, a 5xx): retried with backoff."""


class DeliveryRefused(DeliveryError):
    """The provider will never take this message (an invalid address): failed at once."""


class Sender(Protocol):
    # A sender may set `in_transaction = True`: its send only makes the message visible in our own
    # tables, so it runs in the unit of work that queues the message (see Outbox._release).
    def send(self, message: OutboxMessage) -> str | None:
        """Deliver; return the provider's message id if it gives one. Raise DeliveryError.

        A sender may also say `can_send(account_id) -> bool`: False holds a message (an account-routing
        sender with no account for it, channels/accounts.py), as when the channel has no sender."""


def _can_send(sender: Sender | None, account_id: int | None) -> bool:
    can_send = getattr(sender, "can_send", None)
    return sender is not None and (can_send is None or bool(can_send(account_id)))


OutcomeListener = Callable[[Session, OutboxMessage], None]


class Outbox:
    def __init__(self, db: Database, clock: Clock, senders: dict[str, Sender] | None = None, *,
                 max_attempts: int = MAX_ATTEMPTS, backoff_seconds: int = BACKOFF_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.senders: dict[str, Sender] = dict(senders or {})
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._listeners: list[OutcomeListener] = []
        # Set by the application (tasks.py): enqueue the delivery job now, or after a delay.
        self.dispatch: Callable[[int], None] = lambda message_id: None
        self.retry_later: Callable[[int, float], None] = lambda message_id, delay: None

    def register(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender

    def on_outcome(self, listener: OutcomeListener) -> None:
        self._listeners.append(listener)

    # ---------------------------------------------------------------- writing (caller's unit of work)

    def queue(self, s: Session, *, channel: str, destination: str, body: str, purpose: str, now: datetime,
              subject: str | None = None, customer_id: int | None = None, thread: str | None = None,
              source: tuple[str, int] | None = None, expires_at: datetime | None = None,
              account_id: int | None = None, language: str | None = None) -> OutboxMessage:
        message = OutboxMessage(channel=channel, destination=destination, thread=thread, subject=subject, body=body,
                                account_id=account_id, language=language,
                                purpose=purpose, customer_id=customer_id, status="queued", attempts=0,
                                source_type=source[0] if source else None, source_id=source[1] if source else None,
                                expires_at=expires_at, created_at=now)
        s.add(message)
        s.flush()
        sender = self.senders.get(channel)
        if getattr(sender, "in_transaction", False):
            self._release(s, message, sender, now)
            return message
        message_id = message.id
        on_commit(s, lambda: self.dispatch(message_id))
        return message

    def _release(self, s: Session, message: OutboxMessage, sender: Sender, now: datetime) -> None:
        """A sender whose "sending" is making the message visible in our own tables (the chat's)
        sends in the caller's unit of work: the reply and its release commit together, so the
        customer's stream has it with the commit, without a job and two more transactions. Such a
        sender cannot fail; if it raises, the caller's unit of work fails with it."""
        message.attempts = 1
        message.provider_message_id = sender.send(message)
        message.sent_at = now
        self._finish(s, message, "sent")

    # ---------------------------------------------------------------- delivering

    def deliver(self, message_id: int) -> str:
        """Deliver one message if it is due; returns its status. Safe to run twice and at once."""
        now = self.clock.now()
        with self.db.transaction() as s:
            claimed = work_queue.claim(s, OutboxMessage, message_id, now, seconds=CLAIM_SECONDS)
            message = s.get(OutboxMessage, message_id)
            if message is None:
                return "missing"
            if not claimed:
                if message.status != "queued":
                    return message.status
                return "sending" if _due(message, now) else "queued"  # another worker has it, or backing off
            if message.expires_at is not None and message.expires_at <= now:
                self._finish(s, message, "expired", attempts=message.attempts - 1)
                return message.status
            sender = self.senders.get(message.channel)
            if sender is None or not _can_send(sender, message.account_id):
                self._finish(s, message, "held", attempts=message.attempts - 1)
                log.info("no %s sender configured; message held in outbox", message.channel,
                         extra={"outbox_id": message.id, "to": message.masked_destination})
                return message.status
            s.expunge(message)  # sent below, outside any transaction
        failure: DeliveryError | None = None
        provider_id = None
        try:
            provider_id = sender.send(message)
        except DeliveryError as exc:
            failure = exc
        return self._record(message_id, provider_id, failure)

    def _record(self, message_id: int, provider_id: str | None, failure: DeliveryError | None) -> str:
        now = self.clock.now()
        delay = None
        with self.db.transaction() as s:
            row = s.get(OutboxMessage, message_id)
            assert row is not None
            row.claimed_until = None
            if failure is None:
                row.sent_at, row.provider_message_id, row.next_attempt_at = now, provider_id, None
                self._finish(s, row, "sent")
                log.info("message delivered", extra={"outbox_id": row.id, "to": row.masked_destination,
                                                     "channel": row.channel})
            else:
                row.last_error = str(failure)[:500]
                gave_up = isinstance(failure, DeliveryRefused) or row.attempts >= self.max_attempts
                if gave_up:
                    row.next_attempt_at = None
                    self._finish(s, row, "failed")
                else:
                    delay = work_queue.backoff(self.backoff_seconds, row.attempts)
                    row.next_attempt_at = now + timedelta(seconds=delay)
                log.warning("delivery failed", extra={"outbox_id": row.id, "to": row.masked_destination,
                                                      "error": str(failure), "attempts": row.attempts,
                                                      "gave_up": gave_up})
            status = row.status
        if delay is not None:
            self.retry_later(message_id, delay)
        return status

    def _finish(self, s: Session, row: OutboxMessage, status: str, *, attempts: int | None = None) -> None:
        row.status = status
        row.claimed_until = None
        if attempts is not None:
            row.attempts = attempts
        for listener in self._listeners:
            listener(s, row)

    def record_receipt(self, channel: str, provider_message_id: str, status: str, *,
                       error: str | None = None) -> str | None:
        """A provider's receipt (delivered, read, or failed after it took the message) for a message
        it took; the status the message has now, or None for an unknown message. Receipts arrive
        late and out of order: delivered and read only move a message forward, and a failure
        counts only for a message not yet known to have arrived."""
        if status not in ("delivered", "read", "failed"):
            raise ValueError(f"unknown receipt status {status!r}")
        with self.db.transaction() as s:
            row = s.execute(select(OutboxMessage).where(
                OutboxMessage.channel == channel, OutboxMessage.provider_message_id == provider_message_id)
                .with_for_update()).scalars().first()
            if row is None:
                return None
            if status == "failed":
                if row.status == "sent":
                    row.last_error = (error or "the provider could not deliver it")[:500]
                    self._finish(s, row, "failed")
            elif _PROGRESS.get(row.status, 0) < _PROGRESS[status]:
                self._finish(s, row, status)
            return row.status

    def record_read_up_to(self, channel: str, destination: str, up_to: datetime) -> int:
        """A read watermark (Messenger): every message sent to `destination` on `channel` by `up_to`
        was read; how many moved to read."""
        with self.db.transaction() as s:
            rows = list(s.scalars(select(OutboxMessage).where(
                OutboxMessage.channel == channel, OutboxMessage.destination == destination,
                OutboxMessage.status.in_(("sent", "delivered")), OutboxMessage.sent_at <= up_to)
                .order_by(OutboxMessage.id).with_for_update()))
            for row in rows:
                self._finish(s, row, "read")
            return len(rows)

    # ---------------------------------------------------------------- the sweep

    def due_ids(self, *, limit: int = 100) -> list[int]:
        """Queued messages to deliver now: their backoff is over, or their own job was lost."""
        with self.db.read() as s:
            return work_queue.due_ids(s, OutboxMessage, OutboxMessage.created_at, self.clock.now(),
                                      lost_after=LOST_JOB_SECONDS, limit=limit)

    def release_held(self, *, limit: int = 100) -> list[int]:
        """Held messages whose channel has a sender now are queued again (expired ones are not)."""
        channels = [channel for channel, sender in self.senders.items() if _can_send(sender, None)]
        if not channels:
            return []
        now = self.clock.now()
        with self.db.transaction() as s:
            ids = list(s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "held", OutboxMessage.channel.in_(channels),
                or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now))
                .order_by(OutboxMessage.id).limit(limit)))
            if ids:
                s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status="queued",
                                                                                         next_attempt_at=None))
        return ids

    # ---------------------------------------------------------------- reading

    def latest(self, *, destination: str | None = None, limit: int = 10) -> list[OutboxMessage]:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if destination:
            stmt = stmt.where(OutboxMessage.destination == destination)
        with self.db.read() as s:
            return list(s.scalars(stmt))

    def messages_to(self, destination: str) -> list[OutboxMessage]:
        with self.db.read() as s:
            return list(s.scalars(select(OutboxMessage).where(OutboxMessage.destination == destination)
                                  .order_by(OutboxMessage.id)))


def _due(message: OutboxMessage, now: datetime) -> bool:
    return message.next_attempt_at is None or message.next_attempt_at <= now
