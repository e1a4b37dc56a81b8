"""Email over SMTP: one-time codes and replies on email conversations.

A reply on a thread (the conversation's `channel_thread` is its token, `email_threading.py`) leaves
from `care+<token>@…`, with `[#<token>]` in the subject and In-Reply-To and References naming the
customer's latest mail (`email_threads.py`), so the customer's client files it under their mail and
their answer comes back to the same conversation. Everything we send is automatic in RFC 3834's
sense (the outbox does not say whether a person or the assistant wrote it): replies carry
`Auto-Submitted: auto-replied`, codes and notices `auto-generated`, so no vacation responder answers.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from ..platform.outbox import DeliveryError, DeliveryRefused, OutboxMessage
from .email_parse import MESSAGE_ID
from .email_threading import is_token, our_message_id, reply_address, tagged_subject
from .email_threads import EmailThreads


class SmtpEmailSender:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0,
                 threads: EmailThreads | None = None) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.threads = threads

    def send(self, message: OutboxMessage) -> str | None:
        mail = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryRefused("SMTP server refused the recipient") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from None
        return mail["Message-ID"]

    def compose(self, message: OutboxMessage) -> EmailMessage:
        token = message.thread if is_token(message.thread) else None
        mail = EmailMessage()
        mail["From"] = reply_address(self.sender, token) if token else self.sender
        mail["To"] = message.destination
        mail["Subject"] = tagged_subject(message.subject, token) if token else message.subject or ""
        mail["Date"] = formatdate()
        mail["Message-ID"] = our_message_id(message.id, token)
        mail["Auto-Submitted"] = "auto-replied" if message.purpose == "reply" else "auto-generated"
        answered = self.threads.reply_headers(token, message.destination) if token and self.threads else None
        if answered is not None:
            mail["In-Reply-To"], mail["References"] = answered.in_reply_to, answered.references
        elif message.thread and MESSAGE_ID.fullmatch(message.thread):
            # A conversation whose thread is a Message-ID (given through the API): answer that mail.
            mail["In-Reply-To"] = mail["References"] = message.thread
        mail.set_content(message.body)
        return mail
