"""Pushed events handed on in id order.

Ids are given in commit order (events.py), but each commit publishes its own batch from its own
thread after it commits (or through Redis from its own process), so batches can reach the hub out
of order. A stream that sees a jump in ids reads the table to fill it (live.py): correct, but with
many streams one late push costs every stream two reads. So the hub holds a batch that arrives
ahead of a gap for a moment, and hands it on as soon as the gap's batch arrives. A gap that does not
fill in time (a commit that failed after taking its ids, a push lost on the way) is passed over:
the streams then read it from the table themselves, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import EventView

HOLD_SECONDS = 0.05


class InOrder:
    def __init__(self, hand_on: Callable[[list[EventView]], None], *, hold_seconds: float = HOLD_SECONDS) -> None:
        self._hand_on = hand_on
        self._hold_seconds = hold_seconds
        self._last: int | None = None  # the highest id handed on
        # Batches ahead of a gap, by their first id, with when each is passed over at the latest.
        self._held: dict[int, tuple[list[EventView], float]] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def push(self, batch: list[EventView]) -> None:
        numbered = [e.id for e in batch if not e.ephemeral]
        if not numbered:  # a signal (someone typing) has no place in the order
            self._hand_on(batch)
            return
        with self._lock:
            if self._last is not None and min(numbered) > self._last + 1:
                self._held[min(numbered)] = (batch, time.monotonic() + self._hold_seconds)
                self._arm()
                return
            self._release(batch)
            self._release_contiguous()

    def _release(self, batch: list[EventView]) -> None:
        self._hand_on(batch)
        top = max(e.id for e in batch if not e.ephemeral)
        self._last = top if self._last is None else max(self._last, top)

    def _release_contiguous(self) -> None:
        while self._held and self._last is not None and min(self._held) <= self._last + 1:
            self._release(self._held.pop(min(self._held))[0])
        if not self._held and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        if self._timer is None and self._held:
            wait = max(0.0, min(deadline for _, deadline in self._held.values()) - time.monotonic())
            self._timer = threading.Timer(wait, self._pass_over_gaps)
            self._timer.daemon = True
            self._timer.start()

    def _pass_over_gaps(self) -> None:
        """The held batches whose time is up, and every held batch before them (the order stays)."""
        with self._lock:
            self._timer = None
            now = time.monotonic()
            expired = [first for first, (_, deadline) in self._held.items() if deadline <= now]
            if expired:
                for first in sorted(f for f in self._held if f <= max(expired)):
                    self._release(self._held.pop(first)[0])
                self._release_contiguous()
            self._arm()
