"""Which channels are on, from settings: a provider's sender (without it, the channel's messages wait
in the outbox as "held"; the demo reads its codes there) and its webhook (without it, the route
answers 404). The chat, our own channel, always has its sender (see container.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..platform.outbox import Sender
from ..platform.settings import Settings
from .cti import GenericCti
from .email_imap import ImapPoller
from .email_inbound import EmailIntake
from .email_listener import EmailListener
from .email_mailboxes import MailboxCursors
from .email_smtp import SmtpEmailSender
from .email_threads import EmailThreads
from .media import MediaSource, TelegramMedia, UrlMedia, WeChatMedia, WhatsAppMedia
from .messenger import MessengerWebhook, MetaMessagingSender
from .sms_twilio import TwilioSmsSender
from .telegram import TelegramSender, TelegramWebhook
from .twilio_voice import TwilioVoiceWebhook
from .wechat import WeChatSender, WeChatWebhook
from .whatsapp import WhatsAppSender, WhatsAppWebhook

log = logging.getLogger(__name__)


def senders_from_settings(settings: Settings, *, email_threads: EmailThreads | None = None) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                                           threads=email_threads)
    if settings.sms_provider_url and settings.sms_account_sid and settings.sms_auth_token:
        senders["sms"] = TwilioSmsSender(settings.sms_provider_url, settings.sms_account_sid,
                                         settings.sms_auth_token, settings.sms_from)
    if settings.telegram_bot_token:
        senders["telegram"] = TelegramSender(settings.telegram_api_base, settings.telegram_bot_token)
    if settings.whatsapp_access_token:
        senders["whatsapp"] = WhatsAppSender(settings.whatsapp_api_base, settings.whatsapp_api_version,
                                             settings.whatsapp_access_token, settings.whatsapp_phone_number_id)
    if settings.messenger_page_token:
        for channel in ("messenger", "instagram"):
            senders[channel] = MetaMessagingSender(channel, settings.messenger_api_base,
                                                   settings.messenger_api_version, settings.messenger_page_token)
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders["wechat"] = WeChatSender(settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret)
    off = [channel for channel in ("email", "sms", "telegram", "whatsapp", "messenger", "instagram", "wechat")
           if channel not in senders]
    if off:
        log.info("channels without a sender (messages are held in the outbox): %s", ", ".join(off))
    return senders


@dataclass(frozen=True)
class Webhooks:
    """The providers' webhooks that are on (None: that channel's settings are not given)."""

    telegram: TelegramWebhook | None = None
    whatsapp: WhatsAppWebhook | None = None
    messenger: MessengerWebhook | None = None  # Messenger and Instagram: one callback
    wechat: WeChatWebhook | None = None
    twilio_voice: TwilioVoiceWebhook | None = None  # the phone line's voice menu
    cti: GenericCti | None = None  # a company PBX reporting its calls


def webhooks_from_settings(settings: Settings) -> Webhooks:
    webhooks = Webhooks(
        telegram=TelegramWebhook(settings.telegram_secret_token) if settings.telegram_secret_token else None,
        whatsapp=WhatsAppWebhook(settings.whatsapp_app_secret, settings.whatsapp_verify_token)
        if settings.whatsapp_app_secret and settings.whatsapp_verify_token else None,
        messenger=MessengerWebhook(settings.messenger_app_secret, settings.messenger_verify_token)
        if settings.messenger_app_secret and settings.messenger_verify_token else None,
        wechat=WeChatWebhook(settings.wechat_token) if settings.wechat_token else None,
        twilio_voice=TwilioVoiceWebhook(settings.twilio_auth_token, settings.public_url)
        if settings.twilio_auth_token else None,
        cti=GenericCti(settings.cti_token) if settings.cti_token else None,
    )
    off = [name for name in ("telegram", "whatsapp", "messenger", "wechat", "twilio_voice", "cti")
           if getattr(webhooks, name) is None]
    if off:
        log.info("webhooks off (their settings are not given): %s", ", ".join(off))
    return webhooks


def email_listener_from_settings(settings: Settings, inbound: EmailIntake) -> EmailListener | None:
    """The inbound SMTP listener `serve` starts, unless GOPAYCARE_INBOUND_SMTP_ENABLED is false."""
    if not settings.inbound_smtp_enabled:
        log.info("inbound SMTP listener off (GOPAYCARE_INBOUND_SMTP_ENABLED is false)")
        return None
    return EmailListener(inbound, settings.inbound_smtp_host, settings.inbound_smtp_port,
                         max_bytes=settings.inbound_smtp_max_bytes)


def imap_poller_from_settings(settings: Settings, inbound: EmailIntake, cursors: MailboxCursors) -> ImapPoller | None:
    """The mailbox the `poll_mailbox` job reads, when GOPAYCARE_IMAP_HOST, _USER and _PASSWORD are set."""
    if not (settings.imap_host and settings.imap_user and settings.imap_password):
        return None
    return ImapPoller(inbound, cursors, host=settings.imap_host, port=settings.imap_port, user=settings.imap_user,
                      password=settings.imap_password, mailbox=settings.imap_mailbox, use_ssl=settings.imap_ssl,
                      max_bytes=settings.inbound_smtp_max_bytes)


def media_from_settings(settings: Settings, senders: dict[str, Sender]) -> dict[str, MediaSource]:
    """Where each channel's media are fetched from (channels/media.py), when its settings are given."""
    sources: dict[str, MediaSource] = {}
    if settings.telegram_bot_token:
        sources["telegram"] = TelegramMedia(settings.telegram_api_base, settings.telegram_bot_token)
    if settings.whatsapp_access_token:
        sources["whatsapp"] = WhatsAppMedia(settings.whatsapp_api_base, settings.whatsapp_api_version,
                                            settings.whatsapp_access_token)
    if settings.messenger_app_secret:  # the webhook is on: its attachments' URLs are Meta's CDN's
        sources["messenger"], sources["instagram"] = UrlMedia("Messenger"), UrlMedia("Instagram")
    if settings.wechat_app_id and settings.wechat_app_secret:
        sender = senders.get("wechat")
        sources["wechat"] = WeChatMedia(sender if isinstance(sender, WeChatSender) else
                                        WeChatSender(settings.wechat_api_base, settings.wechat_app_id,
                                                     settings.wechat_app_secret))
    return sources
