"""Sending agents' replies (and system messages) out on the conversation's own channel.

A reply is stored with delivery status "pending" and, after commit, a job calls `deliver`. Each
channel adapter registers a sender here (chat widget, SMTP, WhatsApp Cloud API, Telegram...; the
adapters come with the channels work). A channel with no sender keeps its messages "pending", so
nothing is lost: they go out once its adapter is registered and the sweep runs.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import select

from ..platform.clock import Clock
from ..platform.db import Database
from .models import Contact, ContactIdentity, Conversation, Message

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class OutboundError(Exception):
    """A delivery that may succeed later (provider down, timeout)."""


class ChannelSender(Protocol):
    def send(self, message: Message, conversation: Conversation, address: str | None) -> str | None:
        """Send; return the provider's message id. Raise OutboundError to retry later."""


class Outbound:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.senders: dict[str, ChannelSender] = {}

    def register(self, channel: str, sender: ChannelSender) -> None:
        self.senders[channel] = sender

    def deliver(self, message_id: int) -> str:
        """Send one pending message; returns its delivery status. Safe to run twice."""
        with self.db.transaction() as s:
            message = s.execute(select(Message).where(Message.id == message_id).with_for_update()).scalar_one_or_none()
            if message is None or message.delivery_status != "pending":
                return message.delivery_status if message else "missing"
            sender = self.senders.get(message.channel)
            if sender is None:
                return "pending"  # no adapter for this channel yet: kept for later
            conversation = s.get(Conversation, message.conversation_id)
            assert conversation is not None
            address = self._address(s, conversation)
            try:
                provider_id = sender.send(message, conversation, address)
            except OutboundError as exc:
                log.warning("outbound delivery failed", extra={"message_id": message.id, "channel": message.channel,
                                                               "error": str(exc)})
                return "pending"
            message.delivery_status = "sent"
            if provider_id and message.provider_message_id is None:
                message.provider_message_id = provider_id
            return "sent"

    @staticmethod
    def _address(s: object, conversation: Conversation) -> str | None:
        """Where the reply goes: the thread's own address, else the contact's identity on that channel."""
        if conversation.channel_thread:
            return conversation.channel_thread
        kind = {"chat": "chat", "email": "email", "phone": "phone", "whatsapp": "whatsapp",
                "telegram": "telegram", "wechat": "wechat", "messenger": "messenger",
                "instagram": "instagram"}.get(conversation.channel)
        contact = s.get(Contact, conversation.contact_id)  # type: ignore[attr-defined]
        row = s.execute(select(ContactIdentity.value).where(  # type: ignore[attr-defined]
            ContactIdentity.contact_id == (contact.id if contact else -1), ContactIdentity.kind == kind)).first()
        return row[0] if row else None

    def pending_ids(self, limit: int = 100) -> list[int]:
        with self.db.read() as s:
            return list(s.scalars(select(Message.id).where(Message.delivery_status == "pending",
                                                           Message.channel.in_(list(self.senders) or [""]))
                                  .order_by(Message.id).limit(limit)))
