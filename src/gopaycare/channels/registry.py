"""Which channels are on, from settings and channel accounts (channels/accounts.py): a provider's
sender (without one, the channel's messages wait in the outbox as "held"; the demo reads its codes
there) and its webhook (without an account or settings, the route answers 404). The chat, our own
channel, always has its sender (see container.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from ..platform.outbox import Sender
from ..platform.settings import Settings
from .accounts import CHANNELS as ACCOUNT_CHANNELS
from .accounts import PROVIDERS, Account, AccountSender, ChannelAccounts, settings_accounts
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
from .whatsapp import WhatsAppSender, WhatsAppWebhook, follow_up_template

log = logging.getLogger(__name__)


def senders_from_settings(settings: Settings, *, email_threads: EmailThreads | None = None,
                          accounts: ChannelAccounts | None = None) -> dict[str, Sender]:
    """The settings' senders; with `accounts`, each provider's channel answers through the account its
    conversation came in on (the settings' sender for conversations of none)."""
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                                           threads=email_threads)
    if settings.sms_provider_url and settings.sms_account_sid and settings.sms_auth_token:
        senders["sms"] = TwilioSmsSender(settings.sms_provider_url, settings.sms_account_sid,
                                         settings.sms_auth_token, settings.sms_from)
    build = partial(account_sender, settings)
    for provider, account in settings_accounts(settings).items():
        for channel in ACCOUNT_CHANNELS[provider]:
            sender = build(channel, account)
            if sender is not None:
                senders[channel] = sender
    off = [channel for channel in ("email", "sms", "telegram", "whatsapp", "messenger", "instagram", "wechat")
           if channel not in senders]
    if off:
        log.info("channels without a sender in the settings: %s", ", ".join(off))
    if accounts is not None:
        for provider in PROVIDERS:
            for channel in ACCOUNT_CHANNELS[provider]:
                senders[channel] = AccountSender(channel, accounts, build, default=senders.get(channel))
    return senders


def account_sender(settings: Settings, channel: str, account: Account) -> Sender | None:
    """The sender with one account's credentials (None when it lacks them); the providers' API
    addresses are the settings' (GOPAYCARE_WHATSAPP_API_BASE...)."""
    secret = account.secret
    if channel == "whatsapp" and secret("access_token"):
        return WhatsAppSender(settings.whatsapp_api_base, settings.whatsapp_api_version, secret("access_token") or "",
                              account.external_id, template=follow_up_template(account.options))
    if channel == "telegram" and secret("bot_token"):
        return TelegramSender(settings.telegram_api_base, secret("bot_token") or "")
    if channel in ("messenger", "instagram") and secret("page_token"):
        return MetaMessagingSender(channel, settings.messenger_api_base, settings.messenger_api_version,
                                   secret("page_token") or "")
    if channel == "wechat" and account.external_id and secret("app_secret"):
        return WeChatSender(settings.wechat_api_base, account.external_id, secret("app_secret") or "")
    return None


@dataclass(frozen=True)
class Webhooks:
    """The providers' webhooks. Those of the channel accounts' providers answer 404 while no account
    (nor the settings) configures them; the others are None without their settings."""

    telegram: TelegramWebhook
    whatsapp: WhatsAppWebhook
    messenger: MessengerWebhook  # Messenger and Instagram: one callback
    wechat: WeChatWebhook
    twilio_voice: TwilioVoiceWebhook | None = None  # the phone line's voice menu
    cti: GenericCti | None = None  # a company PBX reporting its calls


def webhooks_from_settings(settings: Settings, accounts: ChannelAccounts) -> Webhooks:
    webhooks = Webhooks(
        telegram=TelegramWebhook(accounts), whatsapp=WhatsAppWebhook(accounts),
        messenger=MessengerWebhook(accounts), wechat=WeChatWebhook(accounts),
        twilio_voice=TwilioVoiceWebhook(settings.twilio_auth_token, settings.public_url)
        if settings.twilio_auth_token else None,
        cti=GenericCti(settings.cti_token) if settings.cti_token else None,
    )
    off = [name for name in ("twilio_voice", "cti") if getattr(webhooks, name) is None]
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
