"""Telegram Bot API: the webhook (Update objects) and the sender.

Inbound: Telegram posts one Update per request with the secret token we set on `setWebhook` in
the X-Telegram-Bot-Api-Secret-Token header. A private chat's message becomes the desk's message
(the contact is the Telegram user; the chat is the thread); group chats are ignored, since account
questions are not answered where others read. Telegram retries an Update until it is answered: the
message is stored once, by chat and message id.

Outbound: `POST {api_base}bot{token}/sendMessage` with `chat_id` and `text`, answering
`{"ok": true, "result": {"message_id": …}}`. Telegram has no delivery receipts.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..platform.errors import NotFound
from ..platform.outbox import DeliveryError, DeliveryRefused, OutboxMessage
from .accounts import Account, ChannelAccounts
from .intake import Event, InboundMessage
from .sending import pieces, response_json
from .webhook import check_secret, ident, json_body, obj, text

CHANNEL = "telegram"
MAX_TEXT = 4096  # sendMessage's limit
MEDIA = ("photo", "document", "voice", "audio", "video", "video_note", "sticker")


class TelegramWebhook:
    """Telegram says nothing of which bot an Update is for: the settings' bot posts to
    `/webhooks/telegram`, a channel account's bot to `/webhooks/telegram/{account name}` (the URL
    given to its setWebhook), each checked with its own secret token."""

    def __init__(self, accounts: ChannelAccounts) -> None:
        self.accounts = accounts

    def account(self, name: str | None) -> Account:
        found = self.accounts.named(CHANNEL, name) if name else self.accounts.implicit.get(CHANNEL)
        if found is None or not found.secret("secret_token"):
            raise NotFound("no such Telegram bot is configured")
        return found

    def events(self, raw: bytes, secret: str | None, account_name: str | None = None) -> list[Event]:
        account = self.account(account_name)
        check_secret(secret, account.secret("secret_token") or "", what="secret token")
        update = json_body(raw)
        message = obj(update.get("message"))
        chat, sender = obj(message.get("chat")), obj(message.get("from"))
        chat_id, user_id, message_id = ident(chat.get("id")), ident(sender.get("id")), ident(message.get("message_id"))
        if chat.get("type") != "private" or sender.get("is_bot") is True:
            return []  # a group, a channel post, a bot: nothing a customer asked us
        if not (chat_id.isdecimal() and user_id.isdecimal() and message_id.isdecimal()):
            return []  # an edit (no "message"), or ids that are not Telegram's (whole numbers)
        body, attachments = _content(message)
        name = " ".join(part for part in (text(sender.get("first_name"), 60), text(sender.get("last_name"), 60))
                        if part) or None
        # Message ids count per chat and per bot: another bot's chat with the same person repeats them.
        bot = f"{account.external_id}:" if account.id is not None else ""
        return [InboundMessage(channel=CHANNEL, identity_kind="telegram", identity_value=user_id, body=body,
                               provider_message_id=f"{bot}{chat_id}:{message_id}", thread=chat_id, name=name,
                               attachments=attachments, account=account.id)]


def _content(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(message.get("text"), str):
        return text(message["text"]) or "[text]", []
    for kind in MEDIA:
        if kind in message:
            media = message[kind]
            media = obj(media[-1]) if isinstance(media, list) and media else obj(media)  # a photo: its largest size
            attachment = {"type": kind, "provider_id": ident(media.get("file_id")),
                          "mime_type": text(media.get("mime_type"), 100) or None,
                          "filename": text(media.get("file_name"), 200) or None, "state": "pending"}
            return text(message.get("caption"), 4000) or f"[{kind}]", [attachment]
    if "contact" in message:  # the customer shared a phone number: the agent reads it (masked)
        return f"[contact] {text(obj(message['contact']).get('phone_number'), 40)}".strip(), []
    return "[unsupported]", []


class TelegramSender:
    def __init__(self, api_base: str, bot_token: str, timeout: float = 10.0) -> None:
        self.url = f"{api_base.rstrip('/')}/bot{bot_token}/sendMessage"
        self.timeout = timeout

    def send(self, message: OutboxMessage) -> str | None:
        chat_id = message.thread or message.destination
        last_id = None
        for piece in pieces(message.body, MAX_TEXT):
            last_id = self._post({"chat_id": chat_id, "text": piece})
        return f"{chat_id}:{last_id}" if last_id else None

    def _post(self, payload: dict[str, Any]) -> str | None:
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Telegram unreachable: {type(exc).__name__}") from None
        answer = response_json(response)
        if response.status_code >= 300 or answer.get("ok") is not True:
            detail = f"Telegram answered {response.status_code} ({text(answer.get('description'), 200)})"
            # 400: the chat does not exist or the text is wrong; 403: the user blocked the bot.
            if response.status_code in (400, 403):
                raise DeliveryRefused(detail)
            raise DeliveryError(detail)
        return ident(obj(answer.get("result")).get("message_id")) or None
