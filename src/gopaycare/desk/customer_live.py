"""A customer's live chat: what their app holds open to see the conversation as it happens.

The stream sends what the customer sees of the conversation (customer_side.py) after the last
sequence number the app has, in order, each message once; then it waits for the hub's doorbell: an
event naming this conversation with a number it has not sent (the customer's own message stored, a
reply released by the outbox), and reads the table after its number again. The table stays the
record, so a doorbell that rings late, twice, or on another process (Redis) changes nothing about
what is sent; a reconnecting app gives its last number and gets exactly what it missed.

An agent typing on the conversation rings too, with an ephemeral signal (typing_signals.py): the
stream passes it on through `typing()` once, and forgets it; nothing is read or stored for it.

Nothing here knows WebSockets: the caller hands in an async `send(message)` (and `typing()`) and pumps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .customer_side import CustomerMessage, CustomerSide, Party
from .events import EventView

PAGE = 100
Send = Callable[[CustomerMessage], Awaitable[None]]
Typing = Callable[[], Awaitable[None]]


async def _nobody() -> None:
    return None


class CustomerStream:
    def __init__(self, side: CustomerSide, party: Party, conversation_id: int | None, after: int,
                 send: Send, typing: Typing = _nobody) -> None:
        self.side, self.party, self._send, self._typing = side, party, send, typing
        self.conversation_id = conversation_id  # None until the customer's first message opens one
        self.sent = after  # the highest sequence number the app has
        self._wake = asyncio.Event()
        self._behind = True  # the table may hold what the app has not got: read it
        self._agent_typing = False

    def listener(self) -> Callable[[list[EventView]], None]:
        """For the hub (which calls it on its own thread). Call it on the stream's loop, and
        subscribe before `run`, so nothing committed in between is missed."""
        loop = asyncio.get_running_loop()

        def ring(batch: list[EventView]) -> None:
            if any(self._news(event) for event in batch):
                loop.call_soon_threadsafe(self._news_rang)
            if any(self._agent_typing_here(event) for event in batch):
                loop.call_soon_threadsafe(self._typing_rang)

        return ring

    def _news_rang(self) -> None:
        self._behind = True
        self._wake.set()

    def _typing_rang(self) -> None:
        self._agent_typing = True
        self._wake.set()

    def _agent_typing_here(self, event: EventView) -> bool:
        return (event.ephemeral and event.kind == "typing" and event.payload.get("who") == "agent"
                and self.conversation_id is not None and event.payload.get("conversation_id") == self.conversation_id)

    def _news(self, event: EventView) -> bool:
        seq = event.payload.get("seq")
        return (self.conversation_id is not None and event.payload.get("conversation_id") == self.conversation_id
                and isinstance(seq, int) and seq > self.sent)

    def follow(self, conversation_id: int) -> bool:
        """The customer's messages now go to this conversation (their first, or a new one after the
        last was closed): follow it from its start. True if that is a change."""
        if conversation_id == self.conversation_id:
            return False
        self.conversation_id, self.sent = conversation_id, 0
        self._news_rang()
        return True

    async def run(self) -> None:
        """Catch up, then send what each doorbell brings, until `send` raises (the app went away)."""
        while True:
            if self._behind:
                self._behind = False  # a ring during the read sets it again
                await self.catch_up()
            if self._agent_typing:
                self._agent_typing = False
                await self._typing()
            await self._wake.wait()
            self._wake.clear()

    async def catch_up(self) -> None:
        while self.conversation_id is not None:
            conversation_id = self.conversation_id
            # An indexed read, but blocking: off the event loop.
            missed = await asyncio.to_thread(self.side.messages, self.party, conversation_id,
                                             after=self.sent, limit=PAGE)
            for message in missed:
                if conversation_id != self.conversation_id:
                    break  # the stream moved to another conversation meanwhile
                await self._send(message)
                self.sent = message.seq
            if len(missed) < PAGE:
                return
