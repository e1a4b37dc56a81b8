"""Which providers' senders run, from settings: a channel without its settings has no sender, and its
messages wait in the outbox as "held" (the demo reads its codes there). The chat, our own channel,
always has its sender (see container.py)."""

from __future__ import annotations

import logging

from ..platform.outbox import Sender
from ..platform.settings import Settings
from .email_smtp import SmtpEmailSender
from .sms_twilio import TwilioSmsSender

log = logging.getLogger(__name__)


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    if settings.sms_provider_url and settings.sms_account_sid and settings.sms_auth_token:
        senders["sms"] = TwilioSmsSender(settings.sms_provider_url, settings.sms_account_sid,
                                         settings.sms_auth_token, settings.sms_from)
    off = [channel for channel in ("email", "sms") if channel not in senders]
    if off:
        log.info("channels without a sender (messages are held in the outbox): %s", ", ".join(off))
    return senders
