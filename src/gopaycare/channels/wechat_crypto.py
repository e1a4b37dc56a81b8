"""WeChat's safe mode (安全模式): messages sealed with the account's EncodingAESKey.

The body is `<xml><ToUserName/><Encrypt>base64</Encrypt></xml>`, signed in the query by
`msg_signature = sha1(sorted(token, timestamp, nonce, encrypt))`. Opened with AES-256-CBC, key
base64decode(EncodingAESKey + "="), IV the key's first 16 bytes, PKCS#7 padding to blocks of 32
bytes (WeChat's, not AES's 16); the plaintext is 16 random bytes, the XML's length (4 bytes, big
endian), the XML, and the app id it was sealed for, which must be ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..platform.errors import PermissionDenied, Unauthenticated, ValidationFailed

BLOCK = 32  # WeChat's padding block
MAX_ENCRYPT_CHARS = 60_000


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypt))).encode()).hexdigest()


def check_msg_signature(given: str | None, token: str, timestamp: str, nonce: str, encrypt: str) -> None:
    if not given:
        raise Unauthenticated("the msg_signature is missing")
    expected = msg_signature(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise PermissionDenied("the msg_signature does not match")


def key_of(aes_key: str) -> bytes:
    return base64.b64decode(aes_key + "=")


def open_message(aes_key: str, app_id: str, encrypt: str) -> bytes:
    """The XML inside `<Encrypt>`; 403 when it was sealed for another app id, 422 when it is no
    sealed message at all (checked after the signature: only the token's holder gets this far)."""
    try:
        sealed = base64.b64decode(encrypt[:MAX_ENCRYPT_CHARS].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValidationFailed("Encrypt is not base64", field="Encrypt") from None
    if not sealed or len(sealed) % 16:
        raise ValidationFailed("Encrypt is not whole AES blocks", field="Encrypt")
    key = key_of(aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(sealed) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad or len(plain) - pad < 20:
        raise ValidationFailed("Encrypt does not open with this EncodingAESKey", field="Encrypt")
    content = plain[16:-pad]
    length = int.from_bytes(content[:4], "big")
    if length > len(content) - 4:
        raise ValidationFailed("Encrypt does not open with this EncodingAESKey", field="Encrypt")
    xml, sealed_for = content[4:4 + length], content[4 + length:]
    if not hmac.compare_digest(sealed_for, app_id.encode()):
        raise PermissionDenied("the message was sealed for another app id")
    return xml
