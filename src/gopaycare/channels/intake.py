"""What the channels hear, kept before it is answered: a provider's webhook is acknowledged only
once its events are stored.

A webhook route verifies the provider's signature, lets the channel's adapter turn the payload
into `InboundMessage`s and `Receipt`s, and hands them to `accept`, which stores each one once
(keyed by the provider's own id for it, so a provider's retry stores nothing new) and answers at
once: providers retry a webhook that is slow to answer, and the assistant may take a while. A job
(`process`) then hands each event to the application: a message to the assistant (stored on the
desk and answered on the same channel), a receipt to the outbox. A failure is retried with backoff
up to MAX_ATTEMPTS, then the event is `failed`, with its error, for an operator to see; a worker
that died mid-way leaves its claim to expire and the sweep takes the event again (the claims and
backoff are the outbox's: platform/work_queue.py). Handing an event
over twice is harmless: the desk stores a provider's message once.

The phone line reports `CallEvent`s the same way: what happened on a call (a PBX's ringing,
answered, ended; the voice menu's transfer, callback, voicemail and its transcription, a caller who
gave up waiting), keyed by the provider's call id and the step, so a retried webhook stores nothing
new; the desk's phone calls take them (desk/calls.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..platform import work_queue
from ..platform.clock import Clock
from ..platform.db import Base, BigId, Database, UTCDateTime, on_commit

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30
LOST_JOB_SECONDS = 60
STATUSES = ("queued", "done", "failed")


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as every channel gives it to the desk."""

    channel: str
    identity_kind: str  # how the desk finds the contact: whatsapp (a phone), telegram (a user id)...
    identity_value: str
    body: str
    provider_message_id: str
    thread: str | None = None  # the provider's conversation (a Telegram chat, a WhatsApp business number)
    name: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # Said where everyone reads it (a comment under a post): the answer goes privately, and only a
    # pointer to it in public (channels/comments.py, Services.take_channel_message).
    public: bool = False
    subject: str | None = None  # an email's subject (the ticket's subject when it opens one)
    # False for what no machine should answer (RFC 3834: auto-replies, lists, bounces): stored, not answered.
    auto_reply_allowed: bool = True
    # The channel account it came in on (channels/accounts.py); None: the one the settings define.
    account: int | None = None


@dataclass(frozen=True)
class Receipt:
    """What became of a message we sent: the provider's delivery status for its id."""

    channel: str
    provider_message_id: str
    status: str  # delivered | read | failed
    error: str | None = None
    # Messenger's read watermark: every message sent to `destination` up to `read_up_to` (ISO time)
    # was read (provider_message_id then names the watermark, so a repeated webhook is stored once).
    destination: str | None = None
    read_up_to: str | None = None


@dataclass(frozen=True)
class CallEvent:
    """Something that happened on a phone call, as the phone line's adapters report it."""

    channel: str  # "phone"
    source: str  # who reported it: twilio (our voice menu) | cti (a company PBX)
    call_id: str  # the provider's id of the call (Twilio's CallSid, the PBX's callId)
    kind: str  # ringing | answered | ended | transfer | callback | voicemail | transcription | abandoned
    caller: str  # the customer's number as the provider gave it ('' or 'anonymous' when withheld)
    line: str = ""  # our number the call is on
    direction: str = "in"  # in: the customer called; out: an agent called the customer
    language: str | None = None
    area: str | None = None
    queue: str | None = None
    agent: str | None = None  # who answered (the PBX's answeringNumber or user)
    cause: str | None = None  # why the call ended (the PBX's hangup cause)
    recording: dict[str, Any] | None = None  # a voicemail: url, provider_id, duration
    text: str | None = None  # a voicemail's transcription
    status: str | None = None  # the transcription's status at the provider


Event = InboundMessage | Receipt | CallEvent
KINDS = {InboundMessage: "message", Receipt: "receipt", CallEvent: "call"}
_BY_KIND = {kind: cls for cls, kind in KINDS.items()}


def event_key(event: Event) -> str:
    """The provider's id for this event: a message's id, a message's id with the status reported, or
    a call's id with its step (long call ids by digest, so the key stays within its column)."""
    if isinstance(event, InboundMessage):
        return f"message:{event.provider_message_id}"
    if isinstance(event, CallEvent):
        call_id = event.call_id if len(event.call_id) <= 120 else \
            "sha256-" + hashlib.sha256(event.call_id.encode()).hexdigest()
        return f"call:{event.source}:{call_id}:{event.kind}"
    return f"receipt:{event.provider_message_id}:{event.status}"


class ChannelEvent(Base):
    """One event a channel heard, until the application has taken it."""

    __tablename__ = "channel_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    event_key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # message | receipt | call
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the event's fields, as JSON
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel", "event_key", name="uq_channel_events_key"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        Index("ix_channel_events_status", "status", "id"),
    )

    def event(self) -> Event:
        return _BY_KIND[self.kind](**json.loads(self.payload))


@dataclass(frozen=True)
class Accepted:
    stored: int
    duplicates: int


class ChannelIntake:
    def __init__(self, db: Database, clock: Clock, *, max_attempts: int = MAX_ATTEMPTS,
                 backoff_seconds: int = BACKOFF_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        # Set by the application (container.py, tasks.py): who takes each kind of event, and how
        # the processing job is enqueued now or later.
        self.on_message: Callable[[InboundMessage], None] = _nobody
        self.on_receipt: Callable[[Receipt], None] = _nobody
        self.on_call: Callable[[CallEvent], None] = _nobody
        self.dispatch: Callable[[int], None] = lambda event_id: None
        self.retry_later: Callable[[int, float], None] = lambda event_id, delay: None

    def accept(self, events: Sequence[Event]) -> Accepted:
        """Store each event once; what a provider sends again is counted, not stored."""
        stored = duplicates = 0
        now = self.clock.now()
        for event in events:
            kind = KINDS[type(event)]
            try:
                with self.db.transaction() as s:
                    row = ChannelEvent(channel=event.channel, event_key=event_key(event), kind=kind,
                                       payload=json.dumps(asdict(event), ensure_ascii=False), status="queued",
                                       attempts=0, received_at=now)
                    s.add(row)
                    s.flush()
                    event_id = row.id
                    on_commit(s, lambda event_id=event_id: self.dispatch(event_id))
                stored += 1
            except IntegrityError:
                duplicates += 1
        return Accepted(stored, duplicates)

    def process(self, event_id: int) -> str:
        """Hand one stored event to the application if it is due; returns its status."""
        now = self.clock.now()
        with self.db.transaction() as s:
            claimed = work_queue.claim(s, ChannelEvent, event_id, now, seconds=CLAIM_SECONDS)
            row = s.get(ChannelEvent, event_id)
            if row is None:
                return "missing"
            if not claimed:
                return row.status
            event = row.event()
        error = None
        try:
            if isinstance(event, InboundMessage):
                self.on_message(event)
            elif isinstance(event, CallEvent):
                self.on_call(event)
            else:
                self.on_receipt(event)
        except Exception as exc:  # any failure of the application is retried, then shown
            log.exception("channel event not taken", extra={"channel_event_id": event_id})
            error = f"{type(exc).__name__}: {exc}"[:500]
        return self._record(event_id, error)

    def _record(self, event_id: int, error: str | None) -> str:
        now = self.clock.now()
        delay = None
        with self.db.transaction() as s:
            row = s.get(ChannelEvent, event_id)
            assert row is not None
            row.claimed_until = None
            if error is None:
                row.status, row.next_attempt_at = "done", None
            else:
                row.last_error = error
                if row.attempts >= self.max_attempts:
                    row.status, row.next_attempt_at = "failed", None
                else:
                    delay = work_queue.backoff(self.backoff_seconds, row.attempts)
                    row.next_attempt_at = now + timedelta(seconds=delay)
            status = row.status
        if delay is not None:
            self.retry_later(event_id, delay)
        return status

    def due_ids(self, *, limit: int = 100) -> list[int]:
        """Queued events to process now: their backoff is over, or their own job was lost."""
        with self.db.read() as s:
            return work_queue.due_ids(s, ChannelEvent, ChannelEvent.received_at, self.clock.now(),
                                      lost_after=LOST_JOB_SECONDS, limit=limit)

    def events(self, *, channel: str | None = None, status: str | None = None, limit: int = 50) -> list[ChannelEvent]:
        """The latest events (an operator looking at what a channel heard, and tests)."""
        stmt = select(ChannelEvent).order_by(ChannelEvent.id.desc()).limit(limit)
        if channel:
            stmt = stmt.where(ChannelEvent.channel == channel)
        if status:
            stmt = stmt.where(ChannelEvent.status == status)
        with self.db.read() as s:
            return list(s.scalars(stmt))


def _nobody(event: Event) -> None:
    raise RuntimeError("no handler for channel events is set")

