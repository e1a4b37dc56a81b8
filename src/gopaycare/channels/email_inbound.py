"""An inbound mail, as the SMTP listener (or a mailbox poller) received it, handed to the intake like
every channel's webhook events (ADR 0010): stored once, keyed by its Message-ID, and answered after.

What becomes of a mail:
- a customer's mail is an `InboundMessage` on the thread its headers name (`email_threading.py`),
  its quoted history cut from the text shown (the full text is kept as a `full_text` entry of its
  attachments); a broken MIME mail keeps its raw text (a `raw_mime` entry with the error); its files
  are kept through the attachment store, each listed as stored or refused with the reason;
- RFC 3834: a mail no machine should answer (Auto-Submitted other than "no", Precedence bulk, list or
  junk, a mailing list's List-Id or List-Unsubscribe, a null sender, MAILER-DAEMON and the like,
  Microsoft's X-Auto-Response-Suppress) is stored and shown to agents, never answered by the assistant;
- a bounce (a delivery status notification for a mail of ours) fails that mail in the outbox, which
  the desk shows on the reply to the contact (`Receipt` "failed"); a bounce of anything else is kept
  on the contact that could not be reached, unanswered.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..attachments.store import AttachmentStore, Refused, refused_entry
from .email_parse import MAX_TEXT, Mail, read_mail
from .email_quotes import new_text
from .email_threading import clean_subject, is_ours, thread_token
from .email_threads import EmailThreads
from .intake import Accepted, ChannelIntake, Event, InboundMessage, Receipt

CHANNEL = "email"
_MACHINES = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+-].*)?@", re.IGNORECASE)


class NoSender(ValueError):
    """The mail names no address to answer or to file it under: the SMTP server refuses it."""


def mail_events(mail: Mail, *, envelope_from: str | None, envelope_to: list[str]) -> list[Event]:
    """`envelope_from`: the SMTP envelope's sender ("" for the null sender), None when unknown (a
    mailbox's mail: its Return-Path header says it then)."""
    bounce = mail.bounce
    if bounce is not None:
        if bounce.delayed_only:
            return []  # still on its way: nothing has failed, nothing to tell anyone
        if bounce.original_message_id and is_ours(bounce.original_message_id):
            return [Receipt(channel=CHANNEL, provider_message_id=bounce.original_message_id, status="failed",
                            error=f"the mail bounced: {bounce.status or 'no status given'}"[:500])]
    sender = (bounce.recipients[0] if bounce and bounce.recipients else None) or mail.sender or \
        _address(envelope_from or "")
    if not sender:
        raise NoSender("the mail names no sender address")
    full = mail.text.replace("\x00", "").strip()
    shown = new_text(full)[:MAX_TEXT]
    attachments: list[dict[str, Any]] = []
    if shown != full:
        attachments.append({"type": "full_text", "mime_type": "text/plain", "size": len(full), "text": full[:MAX_TEXT]})
    if mail.error:
        attachments.append({"type": "raw_mime", "mime_type": "message/rfc822", "error": mail.error,
                            "size": len(mail.raw or ""), "text": mail.raw or ""})
    if bounce is not None:
        shown = f"[bounce] {', '.join(bounce.recipients) or sender} {bounce.status}\n{shown}".strip()
    token = thread_token(message_id=mail.message_id, in_reply_to=mail.in_reply_to, references=mail.references,
                         recipients=[*envelope_to, *mail.recipients], subject=mail.subject)
    return [InboundMessage(channel=CHANNEL, identity_kind="email", identity_value=sender,
                           body=shown or _placeholder(mail), provider_message_id=mail.message_id, thread=token,
                           name=mail.name, attachments=attachments, subject=clean_subject(mail.subject) or None,
                           auto_reply_allowed=bounce is None and mail.error is None
                           and no_answer_reason(mail, envelope_from) is None)]


def no_answer_reason(mail: Mail, envelope_from: str | None) -> str | None:
    """Why no automatic answer may go to this mail (RFC 3834 section 2), or None."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    if headers.get("precedence", "").strip().lower() in ("bulk", "list", "junk"):
        return "Precedence"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "a mailing list"
    envelope = envelope_from if envelope_from is not None else headers.get("return-path")
    if envelope is not None and envelope.strip() in ("", "<>"):
        return "a null sender"
    if mail.sender and _MACHINES.match(mail.sender):
        return "a mailer's address"
    suppress = {v.strip().lower() for v in headers.get("x-auto-response-suppress", "").split(",")}
    if suppress & {"all", "autoreply", "oof"}:
        return "X-Auto-Response-Suppress"
    return None


def _placeholder(mail: Mail) -> str:
    if mail.files:
        return "[attachments] " + ", ".join(f.filename or f.content_type for f in mail.files)[:500]
    return clean_subject(mail.subject) or "[empty mail]"


def _address(value: str) -> str | None:
    value = value.strip().strip("<>").lower()
    return value if re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{1,190}", value) else None


class EmailIntake:
    """Mail in (from the SMTP listener or a mailbox): read, threaded, stored once."""

    def __init__(self, intake: ChannelIntake, threads: EmailThreads, files: AttachmentStore) -> None:
        self.intake = intake
        self.threads = threads
        self.files = files

    def take(self, raw: bytes, *, envelope_from: str | None = None, envelope_to: list[str] | None = None) -> Accepted:
        mail = read_mail(raw)
        events = mail_events(mail, envelope_from=envelope_from, envelope_to=list(envelope_to or []))
        if mail.files or mail.more_files:
            events = [replace(event, attachments=[*self._keep_files(mail), *event.attachments])
                      if isinstance(event, InboundMessage) else event for event in events]
        for event in events:
            if isinstance(event, InboundMessage) and event.thread and mail.bounce is None:
                self.threads.remember(event.thread, event.identity_value, mail.message_id, mail.references)
        return self.intake.accept(events)

    def _keep_files(self, mail: Mail) -> list[dict[str, Any]]:
        """The mail's files kept (once per Message-ID and part: a mail delivered twice keeps nothing
        new) or refused, as its message lists them."""
        entries = [self.files.keep(f.data, origin=CHANNEL, declared_type=f.content_type, name=f.filename,
                                   origin_key=f"{mail.message_id}:{index}", type="file")
                   for index, f in enumerate(mail.files)]
        if mail.more_files:
            entries.append(refused_entry(Refused("too_many", "too many attachments"), name=None, declared_type=None,
                                         size=None, type="file", count=mail.more_files))
        return entries
