"""Facebook Messenger and Instagram direct messages (Meta's Messenger Platform): the webhook and the
sender.

Inbound: Meta posts `{"object": "page" | "instagram", "entry": [{"id": <page or IG account>,
"messaging": [...]}]}` to one callback, signed with X-Hub-Signature-256 (`meta.py`). A `messaging`
item carries the sender's page-scoped id (PSID, or IGSID on Instagram: the contact's `messenger` or
`instagram` identity) and a `message` (text, attachments by URL), a `postback` (a tapped button), a
`delivery` (`mids` of our messages that arrived) or a `read`. Our own messages come back as echoes
(`is_echo`) and are ignored. Messenger's `read` gives a watermark: every reply sent to that person
up to that time is read (the outbox compares it with when each reply was sent); Instagram's `read`
names the `mid`. Each entry's id is a channel account's page (or its Instagram account), verified
with that account's app secret; its replies go out with that account's page token.

Comments on the page's and the Instagram account's posts come on the same callback (`changes`):
`comments.py`.

Outbound: `POST {api_base}{version}/me/messages` with the page's access token (Instagram accounts
linked to the page answer through the same token), `recipient.id` the PSID or IGSID and
`messaging_type: RESPONSE` (an answer inside the 24-hour window a customer's message opens),
answering `{"recipient_id": …, "message_id": "m_…"}`; that id comes back in delivery receipts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..platform.outbox import DeliveryRefused, OutboxMessage
from . import comments, meta
from .accounts import Account
from .intake import Event, InboundMessage, Receipt
from .sending import pieces
from .webhook import ident, items, obj, text

# Meta's webhook object -> our channel (which is also the identity kind of its page-scoped ids).
CHANNELS = {"page": "messenger", "instagram": "instagram"}
MEDIA = ("image", "audio", "video", "file")  # attachments that are a file to fetch
MAX_TEXT = {"messenger": 2000, "instagram": 1000}  # the Send API's limits for a text message
# Graph API answers that may pass by trying again later: rate limits (4 app, 17 user, 32 page,
# 613 calls, 80006 Messenger), temporary errors (1, 2, 1200). Any other 4xx cannot: outside the
# 24-hour window (10 / 2018278), the person is unavailable (551), no such user (100 / 2018001).
RETRY_CODES = {1, 2, 4, 17, 32, 613, 1200, 80006}
MAX_WATERMARK_MS = 10**13  # the year 2286: anything later is no time Meta sends


class MessengerWebhook(meta.MetaWebhook):
    provider = "messenger"

    def events(self, raw: bytes, signature: str | None) -> list[Event]:
        payload, account_for = self.payload(raw, signature)
        channel = CHANNELS.get(text(payload.get("object"), 20))
        if channel is None:
            return []
        found: list[Event] = []
        for entry in items(payload.get("entry")):
            page = ident(entry.get("id"))
            account = account_for(page) if page.isdecimal() else None
            if account is None:
                continue
            for item in items(entry.get("messaging")):
                found.extend(_messaging_events(channel, page, item, account.id))
            found.extend(comments.entry_events(channel, page, entry, account.id))
        return found

    def names(self, account: Account, external_id: str) -> bool:
        """A page's id on Messenger, its Instagram account's id on Instagram."""
        return bool(external_id) and external_id in (account.external_id, account.options.get("instagram_account_id"))


def _messaging_events(channel: str, page: str, item: dict[str, Any], account_id: int | None) -> list[Event]:
    sender = ident(obj(item.get("sender")).get("id"))
    message, postback = obj(item.get("message")), obj(item.get("postback"))
    if message.get("is_echo") is True or sender == page:
        return []  # our own message (or the page's), sent back to us
    if "delivery" in item:
        return [Receipt(channel=channel, provider_message_id=mid, status="delivered")
                for mid in (ident(m) for m in _list(obj(item["delivery"]).get("mids"))) if mid]
    if "read" in item:
        return _read(channel, sender, obj(item["read"]))
    if not sender.isdecimal():
        return []
    if message:
        mid = ident(message.get("mid"))
        if not mid or message.get("is_deleted") is True:
            return []  # an Instagram "unsend" is no new question
        body, attachments = _content(message)
    elif postback:  # a tapped button: its title is what the customer chose
        mid = ident(postback.get("mid"))
        if not mid:
            return []
        body, attachments = text(postback.get("title"), 200) or "[postback]", []
    else:
        return []  # reactions, referrals, opt-ins: nothing asked
    return [InboundMessage(channel=channel, identity_kind=channel, identity_value=sender, body=body,
                           provider_message_id=mid, thread=page, attachments=attachments, account=account_id)]


def _read(channel: str, reader: str, read: dict[str, Any]) -> list[Event]:
    """Instagram names the message read; Messenger gives a watermark: everything we sent this person
    up to that time (milliseconds since the epoch) was read."""
    mid = ident(read.get("mid"))
    if mid:
        return [Receipt(channel=channel, provider_message_id=mid, status="read")]
    watermark = read.get("watermark")
    if not reader.isdecimal() or isinstance(watermark, bool) or not isinstance(watermark, int) \
            or not 0 < watermark < MAX_WATERMARK_MS:
        return []
    up_to = datetime.fromtimestamp(watermark / 1000, UTC).isoformat()
    return [Receipt(channel=channel, provider_message_id=f"watermark:{reader}:{watermark}", status="read",
                    destination=reader, read_up_to=up_to)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _content(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text a person reads, and the media it carries (by the provider's URL: fetched by a job once
    the message is stored, channels/media.py; a shared link or a template is only listed)."""
    attachments = []
    for item in items(message.get("attachments"))[:10]:
        kind, url = text(item.get("type"), 20) or "file", text(obj(item.get("payload")).get("url"), 2000) or None
        attachments.append({"type": kind, "url": url, **({"state": "pending"} if kind in MEDIA and url else {})})
    body = text(message.get("text"))
    if body:
        return body, attachments
    return (f"[{attachments[0]['type']}]" if attachments else "[unsupported]"), attachments


class MetaMessagingSender:
    """Replies on Messenger or Instagram through the Send API (one instance per channel)."""

    def __init__(self, channel: str, api_base: str, api_version: str, page_token: str,
                 timeout: float = 10.0) -> None:
        self.channel = channel
        self.base = f"{api_base.rstrip('/')}/{api_version.strip('/')}"
        self.page_token = page_token
        self.timeout = timeout

    def send(self, message: OutboxMessage) -> str | None:
        comment_id = comments.comment_of(message.thread)
        if comment_id:
            return comments.send(self, message, comment_id)
        if not message.destination.isdecimal():
            raise DeliveryRefused(f"a {self.channel} recipient is a page-scoped id")
        last_id = None
        for piece in pieces(message.body, MAX_TEXT[self.channel]):
            last_id = self.post("me/messages", {"recipient": {"id": message.destination},
                                                "messaging_type": "RESPONSE", "message": {"text": piece}})
        return last_id

    def post(self, path: str, payload: dict[str, Any]) -> str | None:
        """One Graph API call; the id of what it created (a message's mid, a comment's id)."""
        answer = meta.graph_post(f"{self.base}/{path}", payload, self.page_token, who=self.channel,
                                 retry_codes=RETRY_CODES, timeout=self.timeout)
        return ident(answer.get("message_id")) or ident(answer.get("id")) or None
