"""One-time codes: 6 digits, 5-minute expiry, single use, stored hashed, rate-limited.

A new code for the same purpose supersedes the older ones (only the newest is accepted). A code
allows 5 wrong guesses, then it is spent. Codes never reach a log: only the outbox body has them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..platform.errors import RateLimited, ValidationFailed
from ..platform.outbox import Outbox
from ..platform.pii import mask_email, mask_phone
from ..platform.settings import Settings
from . import messages
from .hashing import SecretHasher
from .messages import CODE_PURPOSES
from .models import Customer, OneTimeCode

MAX_GUESSES = 5


@dataclass(frozen=True)
class CodeSent:
    code_id: int
    channel: str
    destination_masked: str
    expires_at: datetime
    resend_available_at: datetime


def _seconds_until(when: datetime, now: datetime) -> int:
    """Whole seconds to wait, rounded up: a resend is allowed at `when` itself, so a wait of
    exactly 30 s is 30 (int() + 1 said 31), and 29.2 s is 30."""
    return math.ceil((when - now).total_seconds())


class CodeIssuer:
    def __init__(self, settings: Settings, hasher: SecretHasher, outbox: Outbox) -> None:
        self.settings = settings
        self.hasher = hasher
        self.outbox = outbox

    def check_rate(self, s: Session, customer_id: int, purpose: str, now: datetime) -> None:
        recent = s.execute(
            select(func.count(), func.max(OneTimeCode.created_at)).where(
                OneTimeCode.customer_id == customer_id, OneTimeCode.purpose == purpose,
                OneTimeCode.created_at > now - timedelta(hours=1),
            )
        ).one()
        count, last = recent
        interval = timedelta(seconds=self.settings.code_resend_interval_seconds)
        if last is not None and now - last < interval:
            retry = last + interval
            raise RateLimited("a code was sent less than a minute ago", code="code_resend_too_soon",
                              retry_at=retry.isoformat(), retry_after_seconds=_seconds_until(retry, now))
        if count >= self.settings.code_max_per_hour:
            oldest = s.execute(
                select(func.min(OneTimeCode.created_at)).where(
                    OneTimeCode.customer_id == customer_id, OneTimeCode.purpose == purpose,
                    OneTimeCode.created_at > now - timedelta(hours=1))
            ).scalar_one()
            retry = oldest + timedelta(hours=1)
            raise RateLimited("too many codes in the last hour", code="code_hourly_limit",
                              retry_at=retry.isoformat(), retry_after_seconds=_seconds_until(retry, now))

    def issue(
        self, s: Session, customer: Customer, purpose: str, channel: str, now: datetime, *,
        destination: str | None = None,
    ) -> CodeSent:
        """Create a code and queue its message, within the caller's unit of work."""
        if purpose not in CODE_PURPOSES:
            raise ValidationFailed("unknown code purpose", field="purpose")
        if channel not in ("sms", "email"):
            raise ValidationFailed("channel must be sms or email", field="channel")
        to = destination or (customer.phone if channel == "sms" else customer.email)
        if not to:
            raise ValidationFailed("no email address on this account", code="no_email", field="channel")
        self.check_rate(s, customer.id, purpose, now)
        code = self.hasher.new_code()
        row = OneTimeCode(customer_id=customer.id, purpose=purpose, channel=channel, destination=to,
                          code_hash="", attempts=0, created_at=now,
                          expires_at=now + timedelta(seconds=self.settings.code_ttl_seconds))
        s.add(row)
        s.flush()
        row.code_hash = self.hasher.keyed(f"{row.id}:{code}")
        lang = customer.language
        body = messages.say("code_body", lang, code=code, purpose=messages.purpose(purpose, lang),
                            minutes=self.settings.code_ttl_seconds // 60)
        self.outbox.queue(s, channel=channel, destination=to, body=body, purpose=purpose,
                          subject=messages.say("code_subject", lang) if channel == "email" else None,
                          customer_id=customer.id, expires_at=row.expires_at, now=now)
        return CodeSent(
            code_id=row.id, channel=channel,
            destination_masked=(mask_phone(to) if channel == "sms" else mask_email(to)) or "",
            expires_at=row.expires_at,
            resend_available_at=now + timedelta(seconds=self.settings.code_resend_interval_seconds),
        )

    def consume(self, s: Session, customer_id: int, purpose: str, code: str, now: datetime,
                *, code_id: int | None = None) -> OneTimeCode:
        """Accept the newest live code for this purpose (or the given one) and spend it.

        A wrong guess is counted on the row before ValidationFailed is raised; the caller commits
        that count (see `committing_failures` in the identity service) so guesses are limited."""
        stmt = select(OneTimeCode).where(OneTimeCode.customer_id == customer_id,
                                         OneTimeCode.purpose == purpose)
        if code_id is not None:
            stmt = stmt.where(OneTimeCode.id == code_id)
        row = s.execute(stmt.order_by(OneTimeCode.id.desc()).limit(1).with_for_update()).scalar_one_or_none()
        if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_GUESSES:
            raise ValidationFailed("the code has expired or was already used; ask for a new one",
                                   code="code_expired", field="code")
        if not isinstance(code, str) or self.hasher.keyed(f"{row.id}:{code.strip()}") != row.code_hash:
            row.attempts += 1
            raise ValidationFailed("the code is not correct", code="code_invalid", field="code",
                                   attempts_left=MAX_GUESSES - row.attempts)
        row.used_at = now
        return row
