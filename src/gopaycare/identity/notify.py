"""Delivering notifications: a transactional outbox and the senders behind it.

A message is written to `outbox_messages` in the same transaction as the change that causes it
(so a rolled-back reset sends nothing), and a job delivers it after commit. Email goes over real
SMTP; SMS goes to an HTTP provider in Twilio's Messages API format. With no SMTP host or SMS
provider configured, messages are kept in the outbox with status "held" (the demo reads them).
Delivery is at-least-once: a crash between sending and marking "sent" can repeat one message.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database, on_commit
from ..platform.pii import mask_email, mask_phone
from ..platform.settings import Settings
from .models import OutboxMessage

log = logging.getLogger(__name__)


CLAIM_SECONDS = 120  # longer than any sender's timeout
MAX_ATTEMPTS = 5


def _masked(message: OutboxMessage) -> str | None:
    return mask_email(message.destination) if message.channel == "email" else mask_phone(message.destination)


class DeliveryError(Exception):
    pass


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> str | None:
        """Deliver; return the provider's message id if it gives one. Raise DeliveryError."""


class SmtpEmailSender:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: OutboxMessage) -> str | None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = f"<outbox-{message.id}@gopaycare>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from None
        return mail["Message-ID"]


class TwilioSmsSender:
    """POST {base}/2010-04-01/Accounts/{sid}/Messages.json with To, From, Body (basic auth)."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str, from_number: str,
                 timeout: float = 10.0) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.from_number = from_number
        self.timeout = timeout

    def send(self, message: OutboxMessage) -> str | None:
        try:
            response = httpx.post(
                self.url, auth=self.auth, timeout=self.timeout,
                data={"To": message.destination, "From": self.from_number, "Body": message.body},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"SMS provider answered {response.status_code}")
        return str(response.json().get("sid") or "") or None


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    if settings.sms_provider_url and settings.sms_account_sid and settings.sms_auth_token:
        senders["sms"] = TwilioSmsSender(settings.sms_provider_url, settings.sms_account_sid,
                                         settings.sms_auth_token, settings.sms_from)
    return senders


class Outbox:
    def __init__(self, db: Database, clock: Clock, senders: dict[str, Sender]) -> None:
        self.db = db
        self.clock = clock
        self.senders = senders
        # Set by the application: enqueues the delivery job for one message id.
        self.dispatch: Callable[[int], None] = self.deliver

    def queue(
        self, s: Session, *, channel: str, destination: str, body: str, purpose: str,
        subject: str | None = None, customer_id: int | None = None, now: datetime,
    ) -> OutboxMessage:
        message = OutboxMessage(channel=channel, destination=destination, subject=subject, body=body,
                                purpose=purpose, customer_id=customer_id, status="queued",
                                attempts=0, created_at=now)
        s.add(message)
        s.flush()
        message_id = message.id
        on_commit(s, lambda: self.dispatch(message_id))
        return message

    def deliver(self, message_id: int) -> str:
        """Deliver one queued message; returns its status. Safe to run twice and at once.

        The message is first claimed for CLAIM_SECONDS in a short transaction, then sent with no
        lock held (on SQLite a lock held through an SMTP timeout would stop every writer), then
        the outcome is recorded. A worker that dies mid-send leaves the claim to expire; the sweep
        sends it again (delivery is at least once)."""
        now = self.clock.now()
        with self.db.transaction() as s:
            claimed = s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == "queued",
                       or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=OutboxMessage.attempts + 1)
            ).rowcount
            message = s.get(OutboxMessage, message_id)
            if message is None:
                return "missing"
            if not claimed:
                return "sending" if message.status == "queued" else message.status
            sender = self.senders.get(message.channel)
            if sender is None:
                message.status, message.claimed_until, message.attempts = "held", None, message.attempts - 1
                log.info("no %s sender configured; message held in outbox", message.channel,
                         extra={"outbox_id": message.id, "to": _masked(message)})
                return message.status
            s.expunge(message)  # sent below, outside the transaction
        failure: DeliveryError | None = None
        provider_id = None
        try:
            provider_id = sender.send(message)
        except DeliveryError as exc:
            failure = exc
        with self.db.transaction() as s:
            row = s.get(OutboxMessage, message_id)
            assert row is not None
            row.claimed_until = None
            if failure is None:
                row.status, row.sent_at, row.provider_message_id = "sent", self.clock.now(), provider_id
                log.info("message delivered", extra={"outbox_id": row.id, "to": _masked(row),
                                                     "channel": row.channel})
            else:
                row.last_error = str(failure)[:500]
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "queued"
                log.warning("delivery failed", extra={"outbox_id": row.id, "to": _masked(row),
                                                      "error": str(failure)})
            status = row.status
        # Raised only after the outcome is committed, so the job runner retries with the count kept.
        if failure is not None and status == "queued":
            raise failure
        return status

    def pending_ids(self, *, older_than_seconds: int = 60, limit: int = 100) -> list[int]:
        """Queued messages old enough that their own job should have run by now."""
        cutoff = self.clock.now() - timedelta(seconds=older_than_seconds)
        with self.db.read() as s:
            return list(s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "queued", OutboxMessage.created_at < cutoff,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= self.clock.now()))
                .order_by(OutboxMessage.id).limit(limit)))

    def latest(self, *, destination: str | None = None, limit: int = 10) -> list[OutboxMessage]:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if destination:
            stmt = stmt.where(OutboxMessage.destination == destination)
        with self.db.read() as s:
            return list(s.scalars(stmt))

    def messages_to(self, destination: str) -> list[OutboxMessage]:
        with self.db.read() as s:
            messages = list(s.scalars(select(OutboxMessage).where(OutboxMessage.destination == destination)
                                      .order_by(OutboxMessage.id)))
            # Detach them loaded: a read session ends in a rollback, which would expire them and
            # leave the caller with rows whose attributes raise DetachedInstanceError.
            s.expunge_all()
            return messages


__all__ = ["DeliveryError", "Outbox", "SmtpEmailSender", "TwilioSmsSender", "senders_from_settings"]
