"""Anonymous web visitors: a signed token that names a visitor, for the chat widget without a login.

`issue` makes a new visitor id and signs it with an expiry; `verify` gives the id back, or raises
Unauthenticated for a token that is forged, altered, expired or not one at all. Nothing is stored
when a token is issued (a visitor's contact is created by their first message), so handing tokens
out costs no write; the route bounds how often one address may ask.

The token is `gpv.<visitor id>.<expiry, unix seconds>.<signature>`; the signature is HMAC-SHA256
with a key derived from GOPAYCARE_SECRET_KEY for this purpose only (a session token's keyed hash
and a visitor token's signature never share a key). A "." is never part of a session token
(url-safe base64), so the two cannot be mistaken for each other.

A visitor id proves nothing about an account: the assistant asks an anonymous visitor to identify
(the registered phone and a code sent to it, assistant/flows/identify.py) before it looks at one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..platform.clock import Clock
from ..platform.errors import Unauthenticated

PREFIX = "gpv"
_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_TOKEN = re.compile(r"^gpv\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class VisitorToken:
    token: str
    visitor_id: str
    expires_at: datetime


class VisitorTokens:
    def __init__(self, secret_key: str, clock: Clock, ttl: timedelta) -> None:
        self._key = hmac.new(secret_key.encode(), b"gopaycare visitor token v1", hashlib.sha256).digest()
        self.clock = clock
        self.ttl = ttl

    def issue(self, visitor_id: str | None = None) -> VisitorToken:
        """A token for a new visitor, or (renewing) for `visitor_id`, valid for the token lifetime."""
        visitor_id = visitor_id or secrets.token_urlsafe(16)
        if not _ID.match(visitor_id):
            raise ValueError("not a visitor id")
        expires = int((self.clock.now() + self.ttl).timestamp())
        return VisitorToken(f"{PREFIX}.{visitor_id}.{expires}.{self._sign(visitor_id, expires)}", visitor_id,
                            datetime.fromtimestamp(expires, UTC))

    def verify(self, token: str) -> str:
        """The visitor id of a valid token (Unauthenticated for anything else)."""
        invalid = Unauthenticated("invalid or expired visitor token", code="visitor_token_invalid")
        match = _TOKEN.match(token or "") if isinstance(token, str) and len(token) < 200 else None
        if match is None:
            raise invalid
        visitor_id, expires = match.group(1), int(match.group(2))
        if not hmac.compare_digest(match.group(3), self._sign(visitor_id, expires)):
            raise invalid
        if expires <= self.clock.now().timestamp():
            raise invalid
        return visitor_id

    def _sign(self, visitor_id: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{visitor_id}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
