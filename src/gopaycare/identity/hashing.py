"""Hashing of passwords, PINs, one-time codes, session tokens and ID numbers."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _random

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..platform.errors import ValidationFailed

_PIN = re.compile(r"^\d{6}$")


class SecretHasher:
    def __init__(self, key: str, profile: str = "default") -> None:
        self._key = key.encode()
        # "fast" keeps the suite quick; it is refused outside tests by nothing but the default.
        self._argon = (
            PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if profile == "fast" else PasswordHasher()
        )

    def hash_password(self, password: str) -> str:
        if not isinstance(password, str) or len(password) < 8 or len(password) > 128:
            raise ValidationFailed("password must be 8 to 128 characters", field="password")
        return self._argon.hash(password)

    def hash_pin(self, pin: str) -> str:
        if not isinstance(pin, str) or not _PIN.match(pin):
            raise ValidationFailed("PIN must be 6 digits", field="pin")
        if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
            raise ValidationFailed("PIN is too easy to guess", field="pin")
        return self._argon.hash(pin)

    def verify(self, stored_hash: str | None, secret: str) -> bool:
        if not stored_hash or not isinstance(secret, str):
            return False
        try:
            return self._argon.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False

    def keyed(self, value: str) -> str:
        """A keyed hash for short-lived or high-entropy values (codes, tokens, ID numbers)."""
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def new_code() -> str:
        return f"{_random.randbelow(1_000_000):06d}"

    @staticmethod
    def new_token() -> str:
        return _random.token_urlsafe(32)
