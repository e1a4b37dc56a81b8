"""Merchants' API keys: a merchant answers the refund requests on its payments through the merchant API.

A key is shown once when made (`gpm_` and 40 random characters); only its keyed hash is stored, so a
database read gives no working key. Each key belongs to one merchant, and every merchant call sees
only that merchant's cases.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from .models import MerchantApiKey

PREFIX = "gpm_"
SESSION_SECONDS = 12 * 3600  # a merchant page session (web/pages/merchant.py)


@dataclass(frozen=True)
class KeyView:
    """A key as an operator sees it: never the key itself (only its hash is kept)."""

    id: int
    merchant_id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


class MerchantKeys:
    def __init__(self, db: Database, clock: Clock, secret_key: str) -> None:
        self.db = db
        self.clock = clock
        self._pepper = hashlib.sha256(f"merchant-api-keys:{secret_key}".encode()).digest()

    def _hash(self, key: str) -> str:
        return hmac.new(self._pepper, key.encode(), hashlib.sha256).hexdigest()

    def create(self, merchant_id: int, *, label: str = "merchant API", key: str | None = None) -> str:
        """A new key for the merchant (returned once). `key`: a chosen one (the demo's fixed key)."""
        label = " ".join(label.split())[:80] if isinstance(label, str) else ""
        if not label:
            raise ValidationFailed("a key needs a label", field="label")
        key = key or PREFIX + secrets.token_urlsafe(30)
        if not key.startswith(PREFIX) or not 20 <= len(key) <= 128:
            raise ValidationFailed("a merchant key starts with gpm_ and is 20 to 128 characters", field="key")
        now = self.clock.now()
        with self.db.transaction() as s:
            row = MerchantApiKey(merchant_id=merchant_id, key_hash=self._hash(key), label=label, created_at=now)
            s.add(row)
            s.flush()
            audit.record(s, at=now, actor=Actor.system(), action="merchant.key_created", subject_type="merchant",
                         subject_id=merchant_id, key_id=row.id, label=label)
        return key

    def authenticate(self, key: str) -> int:
        """The merchant this key belongs to (401 for an unknown or revoked key)."""
        if not isinstance(key, str) or not key.startswith(PREFIX) or len(key) > 128:
            raise Unauthenticated("a merchant API key is required", code="merchant_key_invalid")
        with self.db.read() as s:
            row = s.execute(select(MerchantApiKey.merchant_id, MerchantApiKey.revoked_at)
                            .where(MerchantApiKey.key_hash == self._hash(key))).one_or_none()
        if row is None or row.revoked_at is not None:
            raise Unauthenticated("a merchant API key is required", code="merchant_key_invalid")
        return row.merchant_id

    def of_merchant(self, merchant_id: int) -> list[KeyView]:
        """The merchant's keys, oldest first, revoked ones included."""
        with self.db.read() as s:
            rows = s.scalars(select(MerchantApiKey).where(MerchantApiKey.merchant_id == merchant_id)
                             .order_by(MerchantApiKey.id)).all()
            return [KeyView(r.id, r.merchant_id, r.label, r.created_at, r.revoked_at) for r in rows]

    def revoke(self, key_id: int, *, actor: Actor | None = None) -> KeyView:
        """The key stops working at once: the merchant API refuses it (401) and every merchant-page session
        signed in with it ends (a session names its key and is checked against it on each request, ADR 0027).
        An unknown key is 404; one already revoked is 409 and keeps its first revocation time."""
        now = self.clock.now()
        with self.db.transaction() as s:
            row = s.execute(select(MerchantApiKey).where(MerchantApiKey.id == key_id).with_for_update()) \
                .scalar_one_or_none()
            if row is None:
                raise NotFound("no such merchant key", key_id=key_id)
            if row.revoked_at is not None:
                raise Conflict("this merchant key is already revoked", code="merchant_key_revoked", key_id=key_id)
            row.revoked_at = now
            audit.record(s, at=now, actor=actor or Actor.system(), action="merchant.key_revoked",
                         subject_type="merchant", subject_id=row.merchant_id, key_id=row.id, label=row.label)
            return KeyView(row.id, row.merchant_id, row.label, row.created_at, row.revoked_at)

    # ---------------------------------------------------------------- the merchant page's session

    def sign_in(self, key: str) -> tuple[int, str]:
        """The merchant page's sign-in with an API key: (merchant id, a session token). The token names the
        key and is signed with the key's own hash, so revoking the key ends every session made with it."""
        merchant_id = self.authenticate(key)
        with self.db.read() as s:
            key_id = s.execute(select(MerchantApiKey.id).where(MerchantApiKey.key_hash == self._hash(key))).scalar_one()
        expires = int(self.clock.now().timestamp()) + SESSION_SECONDS
        return merchant_id, f"{key_id}.{expires}.{self._session_sig(key_id, expires, self._hash(key))}"

    def _session_sig(self, key_id: int, expires: int, key_hash: str) -> str:
        return hmac.new(self._pepper, f"session|{key_id}|{expires}|{key_hash}".encode(), hashlib.sha256).hexdigest()

    def session(self, token: str) -> int:
        """The merchant of a page session (401 for a forged, expired or revoked one)."""
        parts = token.split(".") if isinstance(token, str) and len(token) <= 200 else []
        if len(parts) != 3 or not parts[0].isdecimal() or not parts[1].isdecimal() or len(parts[0]) > 18:
            raise Unauthenticated("sign in with your merchant key", code="merchant_session_invalid")
        key_id, expires = int(parts[0]), int(parts[1])
        if expires < self.clock.now().timestamp():
            raise Unauthenticated("sign in with your merchant key", code="merchant_session_invalid")
        with self.db.read() as s:
            row = s.execute(select(MerchantApiKey.merchant_id, MerchantApiKey.key_hash, MerchantApiKey.revoked_at)
                            .where(MerchantApiKey.id == key_id)).one_or_none()
        if row is None or row.revoked_at is not None or \
                not hmac.compare_digest(self._session_sig(key_id, expires, row.key_hash), parts[2]):
            raise Unauthenticated("sign in with your merchant key", code="merchant_session_invalid")
        return int(row.merchant_id)
