"""Rate limits on what strangers can do without an account: log in, ask for codes, vote.

One limiter for the whole application, on the `limits` library's moving-window strategy: in this
process's memory by default, in Redis when `GOPAYCARE_REDIS_URL` is set (every process and worker
then shares one count). Each rule is named in `RateLimits` (settings) and keyed by who asks: a
client address, an account (the login typed), a destination a code goes to, or everyone.

A check costs `cost` units: a code sent by SMS costs more than one sent by email (SMS is paid
for), so one budget bounds what a client address can spend whatever mix it asks for.

Keys are keyed hashes, never the phone or email itself: Redis holds no personal data. When Redis
does not answer, the check lets the request through and logs it: the account-level protections
(the soft lock after wrong passwords, the codes' own resend rules) still hold without it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import RateLimited
from .settings import RateLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One count against one rule: `rule` is a field of RateLimits, `key` who is counted."""

    rule: str
    key: str
    cost: int = 1


def rules_of(limits: RateLimits) -> dict[str, list[RateLimitItem]]:
    return {name: list(parse_many(value)) for name, value in limits.model_dump().items() if isinstance(value, str)}


class Limiter:
    def __init__(self, limits: RateLimits, *, secret: str, redis_url: str | None = None,
                 namespace: str = "gopaycare") -> None:
        self.settings = limits
        self._rules = rules_of(limits)
        self._secret = secret.encode()
        self.storage: Storage = (
            storage_from_string(redis_url, key_prefix=f"{namespace}:limits", wrap_exceptions=True)
            if redis_url else MemoryStorage()
        )
        self._strategy = MovingWindowRateLimiter(self.storage)

    def cost_of_code(self, channel: str) -> int:
        return self.settings.code_cost_sms if channel == "sms" else self.settings.code_cost_email

    def check(self, checks: Iterable[Check]) -> None:
        """Count each check in order; the first one over its limit raises RateLimited (429) with
        how long to wait. Checks after it are not counted (a refused request spends nothing more)."""
        for check in checks:
            key = self._key(check.key)
            for item in self._rules[check.rule]:
                try:
                    allowed = self._strategy.hit(item, check.rule, key, cost=check.cost)
                except StorageError:
                    log.warning("rate limit storage unavailable; %s not counted", check.rule)
                    return
                if not allowed:
                    raise RateLimited("too many requests; try again later", code="rate_limited",
                                      limit=check.rule, retry_after_seconds=self._wait(item, check.rule, key))

    def _wait(self, item: RateLimitItem, rule: str, key: str) -> int:
        try:
            reset_at = self._strategy.get_window_stats(item, rule, key).reset_time
        except StorageError:
            return item.get_expiry()
        return max(1, math.ceil(reset_at - time.time()))

    def _key(self, key: str) -> str:
        # A keyed hash: the same person is the same key, and the store never sees their address.
        return hmac.new(self._secret, key.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]

    def reset(self) -> None:
        """Forget every count (tests, and an operator clearing a false alarm)."""
        try:
            self.storage.reset()
        except StorageError:
            log.warning("rate limit storage unavailable; not reset")
