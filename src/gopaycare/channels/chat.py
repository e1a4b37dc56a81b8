"""The in-app and web chat: GoPay Care's own channel.

The customer's app reads its conversation from GoPay Care itself (`GET /api/v1/me/conversations/
{id}/messages`, by cursor), so "sending" a chat reply is releasing it there: until this sender has
run the reply is not shown, and once it has, the reply carries a provider id the app's read receipt
refers to. Nothing leaves the process, so it cannot fail, and it runs in the transaction that
stores the reply (`in_transaction`): the reply is on the customer's stream when that commits.
"""

from __future__ import annotations

from ..platform.outbox import OutboxMessage


class ChatSender:
    in_transaction = True

    def send(self, message: OutboxMessage) -> str:
        return f"chat-{message.id}"
