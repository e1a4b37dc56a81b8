"""Email over SMTP: one-time codes and replies on email conversations (threaded with In-Reply-To)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from ..platform.outbox import DeliveryError, DeliveryRefused, OutboxMessage


class SmtpEmailSender:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: OutboxMessage) -> str | None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = f"<outbox-{message.id}@gopaycare>"
        if message.thread:
            # The customer's mail client files the reply under the thread it answers.
            mail["In-Reply-To"] = mail["References"] = message.thread
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryRefused("SMTP server refused the recipient") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from None
        return mail["Message-ID"]
