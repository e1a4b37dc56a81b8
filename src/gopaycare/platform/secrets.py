"""Secrets sealed at rest: AES-256-GCM (authenticated: a changed byte, a swapped row or the wrong key
fails to open, never decrypts to garbage) under a key derived from GOPAYCARE_SECRET_KEY.

Each use has its own key, derived with HKDF-SHA256 and a purpose label ("channel-accounts"), so a key
leaked from one use opens nothing else, and GOPAYCARE_SECRET_KEY itself is never the cipher key. A
sealed value carries its key id (a digest of the derived key, not the key): after GOPAYCARE_SECRET_KEY
changes, values sealed under the old one still open while it is listed in
GOPAYCARE_PREVIOUS_SECRET_KEYS, and `reseal` writes them again under the current key. `context` is
bound as associated data: a value sealed for one row does not open as another's.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A sealed value that cannot be opened: its key is not known (rotated away), or it was changed."""


def derive_key(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"gopaycare-secret-box",
                info=f"gopaycare/{purpose}".encode()).derive(secret_key.encode())


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]


class SecretBox:
    def __init__(self, secret_key: str, purpose: str, previous: Sequence[str] = ()) -> None:
        current = derive_key(secret_key, purpose)
        self.key_id = key_id(current)
        self._keys = {key_id(k): k for k in (derive_key(old, purpose) for old in previous)}
        self._keys[self.key_id] = current

    def seal(self, plaintext: bytes, context: str) -> tuple[str, str]:
        """(key id, base64 of nonce + ciphertext + tag)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.key_id]).encrypt(nonce, plaintext, context.encode())
        return self.key_id, base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, kid: str, sealed: str, context: str) -> bytes:
        key = self._keys.get(kid)
        if key is None:
            raise SecretUnreadable(f"sealed under key {kid}, which is neither GOPAYCARE_SECRET_KEY's nor in "
                                   "GOPAYCARE_PREVIOUS_SECRET_KEYS")
        try:
            raw = base64.b64decode(sealed.encode("ascii"), validate=True)
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError, UnicodeEncodeError):
            raise SecretUnreadable("the sealed value does not open: changed, or sealed for another row") from None
