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
        self._held: dict[int, list[EventView]] = {}  # batches ahead of a gap, by their first id
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def push(self, batch: list[EventView]) -> None:
        numbered = [e.id for e in batch if not e.ephemeral]
        if not numbered:  # a signal (someone typing) has no place in the order
            self._hand_on(batch)
            return
        with self._lock:
            if self._last is not None and min(numbered) > self._last + 1:
                self._held[min(numbered)] = batch
                if self._timer is None:
                    self._timer = threading.Timer(self._hold_seconds, self._pass_over_gaps)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._release(batch)
            while self._held and min(self._held) <= self._last + 1:  # type: ignore[operator]
                self._release(self._held.pop(min(self._held)))

    def _release(self, batch: list[EventView]) -> None:
        self._hand_on(batch)
        top = max(e.id for e in batch if not e.ephemeral)
        self._last = top if self._last is None else max(self._last, top)

    def _pass_over_gaps(self) -> None:
        with self._lock:
            self._timer = None
            for first in sorted(self._held):
                self._release(self._held.pop(first))
