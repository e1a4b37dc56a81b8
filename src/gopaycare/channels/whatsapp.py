"""WhatsApp Cloud API: the webhook (messages and delivery statuses) and the sender.

Inbound: Meta posts `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}`, signed with X-Hub-Signature-256 (`meta.py`). A value carries the
business number written to (`metadata.phone_number_id`, kept as the conversation's thread so the
reply leaves from the same number), the senders' profiles, `messages` and `statuses`.

Outbound: `POST {api_base}{version}/{phone_number_id}/messages` with the access token, answering
`{"messages": [{"id": "wamid…"}]}`; that id comes back in the statuses (delivered, read, failed).
Free-form text goes only within 24 hours of the customer's last message; outside that window Meta
answers 131047 and, when a follow-up template is configured (GOPAYCARE_WHATSAPP_FOLLOWUP_TEMPLATE or
the account's `template_name`), an approved template (`type: template`) asking the customer to reply
goes instead; without one the reply fails, and the agent sees why.

Each channel account (channels/accounts.py) is a business number: a webhook's value names it in
`metadata.phone_number_id` and is verified with that account's app secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..platform import catalog
from ..platform.i18n import DEFAULT_LANGUAGE, normalize_language
from ..platform.outbox import DeliveryRefused, OutboxMessage
from . import meta
from .intake import Event, InboundMessage, Receipt
from .sending import pieces
from .webhook import ident, items, obj, text

CHANNEL = "whatsapp"
MAX_TEXT = 4096  # WhatsApp's limit for a text message's body
MEDIA = ("image", "document", "audio", "video", "sticker", "voice")
RECEIPTS = {"delivered": "delivered", "read": "read", "failed": "failed"}  # "sent" we knew already
# Graph API answers that may pass: rate limits (by code: 4 app, 80007 account, 130429 throughput,
# 131056 pair), an expired token (401: fixed by an operator), the provider's own errors. Any other
# 4xx cannot pass by trying again: the 24-hour window is closed (131047: a template is needed), the
# number is not on WhatsApp (131026), the message is invalid.
RATE_LIMIT_CODES = {4, 80007, 130429, 131056}
WINDOW_CLOSED = 131047
DEFAULT_TEMPLATE_LANGUAGES = {"zh-CN": "zh_CN", "en": "en", "id": "id"}


class WhatsAppWebhook(meta.MetaWebhook):
    provider = "whatsapp"

    def events(self, raw: bytes, signature: str | None) -> list[Event]:
        payload, account_for = self.payload(raw, signature)
        if payload.get("object") != "whatsapp_business_account":
            return []
        found: list[Event] = []
        for entry in items(payload.get("entry")):
            for change in items(entry.get("changes")):
                value = obj(change.get("value"))
                number_id = ident(obj(value.get("metadata")).get("phone_number_id"))
                account = account_for(number_id) if change.get("field") == "messages" else None
                if account is not None:
                    found.extend(_value_events(value, number_id or None, account.id))
        return found


def _value_events(value: dict[str, Any], number_id: str | None, account_id: int | None) -> list[Event]:
    names = {ident(c.get("wa_id")): text(obj(c.get("profile")).get("name"), 120)
             for c in items(value.get("contacts"))}
    found: list[Event] = []
    for message in items(value.get("messages")):
        sender, message_id = ident(message.get("from")), ident(message.get("id"))
        if not sender.isdecimal() or not message_id:
            continue
        body, attachments = _content(message)
        found.append(InboundMessage(channel=CHANNEL, identity_kind="whatsapp", identity_value=f"+{sender}",
                                    body=body, provider_message_id=message_id, thread=number_id,
                                    name=names.get(sender) or None, attachments=attachments, account=account_id))
    for status in items(value.get("statuses")):
        kind, message_id = RECEIPTS.get(text(status.get("status"))), ident(status.get("id"))
        if kind and message_id:
            errors = items(status.get("errors"))
            error = text(errors[0].get("title") or errors[0].get("message"), 500) if errors else None
            found.append(Receipt(channel=CHANNEL, provider_message_id=message_id, status=kind, error=error))
    return found


def _content(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text a person reads, and the media it carries (by the provider's media id: fetched by a job
    once the message is stored, channels/media.py)."""
    kind = text(message.get("type"), 20)
    if kind == "text":
        return text(obj(message.get("text")).get("body")) or "[text]", []
    if kind == "interactive":  # a tapped button or list row: its title is what the customer chose
        reply = obj(message.get("interactive"))
        chosen = obj(reply.get("button_reply")) or obj(reply.get("list_reply"))
        return text(chosen.get("title"), 200) or "[interactive]", []
    if kind == "button":
        return text(obj(message.get("button")).get("text"), 200) or "[button]", []
    if kind in MEDIA:
        media = obj(message.get(kind))
        attachment = {"type": kind, "provider_id": ident(media.get("id")),
                      "mime_type": text(media.get("mime_type"), 100) or None,
                      "filename": text(media.get("filename"), 200) or None, "state": "pending"}
        return text(media.get("caption"), 4000) or f"[{kind}]", [attachment]
    if kind == "location":
        place = obj(message.get("location"))
        return f"[location] {text(place.get('name'), 200)} {place.get('latitude')},{place.get('longitude')}".strip(), []
    return f"[{kind or 'unsupported'}]", []


@dataclass(frozen=True)
class FollowUpTemplate:
    """An approved message template sent instead of a reply outside the 24-hour window: its body's
    one parameter is a short pointer asking the customer to reply (which opens the window again)."""

    name: str
    languages: Mapping[str, str]  # our language -> the template's language code (zh-CN -> zh_CN)

    def payload(self, to: str, language: str | None) -> dict[str, Any] | None:
        lang = normalize_language(language)
        code = self.languages.get(lang) or self.languages.get(DEFAULT_LANGUAGE)
        if not code:
            return None
        pointer = catalog.text("channels.whatsapp", "followup_pointer", lang)
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
                "template": {"name": self.name, "language": {"code": code},
                             "components": [{"type": "body", "parameters": [{"type": "text", "text": pointer}]}]}}


def follow_up_template(options: Mapping[str, Any]) -> FollowUpTemplate | None:
    name, languages = options.get("template_name"), options.get("template_languages")
    return FollowUpTemplate(name, dict(languages or DEFAULT_TEMPLATE_LANGUAGES)) if name else None


class WhatsAppSender:
    def __init__(self, api_base: str, api_version: str, access_token: str, phone_number_id: str | None = None,
                 timeout: float = 10.0, template: FollowUpTemplate | None = None) -> None:
        self.base = f"{api_base.rstrip('/')}/{api_version.strip('/')}"
        self.access_token = access_token
        self.phone_number_id = phone_number_id  # used when a conversation did not say which number
        self.timeout = timeout
        self.template = template

    def send(self, message: OutboxMessage) -> str | None:
        number_id = message.thread or self.phone_number_id
        if not number_id:
            raise DeliveryRefused("no WhatsApp business number to send from")
        to = message.destination.lstrip("+")
        if not to.isdecimal():
            raise DeliveryRefused("a WhatsApp recipient is a phone number")
        last_id = None
        for piece in pieces(message.body, MAX_TEXT):
            try:
                last_id = self._post(number_id, {"messaging_product": "whatsapp", "recipient_type": "individual",
                                                 "to": to, "type": "text",
                                                 "text": {"preview_url": False, "body": piece}})
            except meta.GraphRefused as refused:
                template = self.template.payload(to, message.language) if self.template else None
                if refused.code != WINDOW_CLOSED or last_id is not None or template is None:
                    raise
                # The customer last wrote over 24 hours ago: only a template may go. The reply itself
                # is not sent; the customer is asked to write, and the conversation goes on then.
                return self._post(number_id, template)
        return last_id

    def _post(self, number_id: str, payload: dict[str, Any]) -> str | None:
        answer = meta.graph_post(f"{self.base}/{number_id}/messages", payload, self.access_token, who="WhatsApp",
                                 retry_codes=RATE_LIMIT_CODES, timeout=self.timeout)
        sent = items(answer.get("messages"))
        return (ident(sent[0].get("id")) or None) if sent else None
