"""A bound on how often one client may do something cheap but unauthenticated (ask for a visitor
token): at most `limit` times per `seconds`, per key (a client address), in this process's memory.

In memory on purpose: it guards a call that writes nothing, so a bound per process (N processes
allow N times the limit) is enough, and it costs no round trip. The keys kept are bounded too: the
oldest are forgotten first, so a flood of addresses cannot grow it without end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

from .clock import Clock
from .errors import RateLimited

MAX_KEYS = 50_000


class RateLimiter:
    def __init__(self, clock: Clock, *, limit: int, seconds: int) -> None:
        self.clock, self.limit, self.seconds = clock, limit, seconds
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one more for `key`; RateLimited (nothing counted) when it is over the limit."""
        now = self.clock.now().timestamp()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            self._seen.move_to_end(key)
            while times and not 0 <= now - times[0] < self.seconds:
                times.popleft()
            if len(times) >= self.limit:
                retry = int(self.seconds - (now - times[0])) + 1
                raise RateLimited("too many requests; try again shortly", code="rate_limited",
                                  retry_after_seconds=retry)
            times.append(now)
            while len(self._seen) > MAX_KEYS:
                self._seen.popitem(last=False)
