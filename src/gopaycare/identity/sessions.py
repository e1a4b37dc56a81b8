"""Customer sessions: a short-lived access token and a rotating, single-use refresh token.

Login opens a session (an access token, GOPAYCARE_SESSION_TTL_SECONDS, an hour by default) and
starts a refresh family. `POST /auth/refresh` spends the refresh token once for a new access token
and a new refresh token of the same family. A refresh token presented a second time was copied
(the app only ever holds the newest): the whole family and every session it opened are revoked, so
the thief and the owner both log in again, and the owner is the one who can. Only keyed hashes of
tokens are stored. Logout revokes the session and its family.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Unauthenticated
from ..platform.settings import Settings
from .hashing import SecretHasher
from .models import Customer, CustomerSession, RefreshToken

# Prefixes say what a token is (and let the log filter find one by its shape); none holds a "."
# (a visitor token's mark).
ACCESS_PREFIX = "gpa_"
REFRESH_PREFIX = "gpr_"


@dataclass(frozen=True)
class LoginResult:
    customer_id: int
    token: str
    expires_at: datetime
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None


class Sessions:
    def __init__(self, db: Database, clock: Clock, settings: Settings, hasher: SecretHasher) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.hasher = hasher

    def open(self, s: Session, customer_id: int, device_id: int | None, now: datetime,
             family: str | None = None) -> LoginResult:
        """A new access session and the refresh token that renews it (a new family at login)."""
        token = ACCESS_PREFIX + self.hasher.new_token()
        expires = now + timedelta(seconds=self.settings.session_ttl_seconds)
        session = CustomerSession(customer_id=customer_id, token_hash=self.hasher.keyed(token), device_id=device_id,
                                  created_at=now, expires_at=expires)
        s.add(session)
        s.flush()
        refresh = REFRESH_PREFIX + self.hasher.new_token()
        refresh_expires = now + timedelta(seconds=self.settings.refresh_ttl_seconds)
        s.add(RefreshToken(customer_id=customer_id, family=family or secrets.token_hex(16),
                           token_hash=self.hasher.keyed(refresh), session_id=session.id, created_at=now,
                           expires_at=refresh_expires))
        return LoginResult(customer_id, token, expires, refresh, refresh_expires)

    def authenticate_hashed(self, token_hash: str) -> int:
        """The customer id of a live session, found by its token's keyed hash."""
        now = self.clock.now()
        with self.db.read() as s:
            row = s.execute(select(CustomerSession).where(CustomerSession.token_hash == token_hash)
                            ).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise Unauthenticated("session expired; log in again", code="session_invalid")
        return row.customer_id

    def refresh(self, refresh_token: str) -> LoginResult:
        invalid = Unauthenticated("the refresh token is not valid; log in again", code="refresh_invalid")
        now = self.clock.now()
        token_hash = self.hasher.keyed(refresh_token or "")
        result: LoginResult | None = None
        with self.db.transaction() as s:
            row = s.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).scalar_one_or_none()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise invalid
            # Spent by whoever gets here first: an update that only matches an unspent row decides it
            # on both engines, however many present the same token at once.
            spent = s.execute(update(RefreshToken).where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                              .values(used_at=now)).rowcount
            if spent:
                customer = s.get(Customer, row.customer_id)
                if customer is None or customer.locked_at is not None:
                    raise invalid
                previous = s.get(CustomerSession, row.session_id)
                result = self.open(s, row.customer_id, previous.device_id if previous else None, now,
                                   family=row.family)
            else:
                self._revoke_family(s, row.family, now)
                audit.record(s, at=now, actor=Actor.system(), action="session.refresh_reused",
                             subject_type="customer", subject_id=row.customer_id)
        if result is None:  # a reuse: raised after the family's revocation committed
            raise invalid
        return result

    def logout(self, token: str) -> bool:
        """Revoke the session of this access token and every session of its refresh family."""
        now = self.clock.now()
        with self.db.transaction() as s:
            row = s.execute(select(CustomerSession).where(
                CustomerSession.token_hash == self.hasher.keyed(token or ""))).scalar_one_or_none()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return False
            row.revoked_at = now
            for family in s.scalars(select(RefreshToken.family).where(RefreshToken.session_id == row.id)).all():
                self._revoke_family(s, family, now)
            audit.record(s, at=now, actor=Actor.customer(row.customer_id), action="session.logged_out",
                         subject_type="customer", subject_id=row.customer_id)
            return True

    def revoke_all(self, s: Session, customer_id: int, now: datetime) -> int:
        """Every session and refresh token of the customer (a lock, a password reset)."""
        s.execute(update(RefreshToken).where(RefreshToken.customer_id == customer_id, RefreshToken.revoked_at.is_(None))
                  .values(revoked_at=now))
        return s.execute(update(CustomerSession).where(CustomerSession.customer_id == customer_id,
                                                       CustomerSession.revoked_at.is_(None))
                         .values(revoked_at=now)).rowcount

    @staticmethod
    def _revoke_family(s: Session, family: str, now: datetime) -> None:
        sessions = select(RefreshToken.session_id).where(RefreshToken.family == family).scalar_subquery()
        s.execute(update(CustomerSession).where(CustomerSession.id.in_(sessions), CustomerSession.revoked_at.is_(None))
                  .values(revoked_at=now), execution_options={"synchronize_session": False})
        s.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                  .values(revoked_at=now))
