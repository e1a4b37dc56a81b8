"""What every webhook adapter shares: checking a shared secret or a signature in constant time, and
reading the provider's JSON without trusting it.

A missing secret or signature answers 401 and a wrong one 403; either way nothing is stored.
Payloads are read defensively: a field of the wrong type is skipped, never a crash (a provider adds
fields and types over time; an attacker sends anything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from ..platform.errors import PermissionDenied, TooLarge, Unauthenticated, ValidationFailed

MAX_PAYLOAD_BYTES = 1_000_000  # far above any provider's webhook (WhatsApp batches stay under 100 kB)


def check_secret(given: str | None, expected: str, *, what: str) -> None:
    if not given:
        raise Unauthenticated(f"the {what} is missing")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied(f"the {what} is wrong")


def check_hmac_sha256(raw: bytes, header: str | None, secret: str, *, prefix: str = "sha256=") -> None:
    """`header` is `prefix` + hex HMAC-SHA256 of the raw body keyed by `secret` (Meta's
    X-Hub-Signature-256)."""
    if not header:
        raise Unauthenticated("the signature is missing")
    if not hmac_sha256_matches(raw, header, secret, prefix=prefix):
        raise PermissionDenied("the signature does not match the body")


def hmac_sha256_matches(raw: bytes, header: str, secret: str, *, prefix: str = "sha256=") -> bool:
    expected = prefix + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().encode(), expected.encode())


def json_body(raw: bytes) -> dict[str, Any]:
    """The payload as a JSON object, or a clear 4xx (checked after the signature, so only the
    provider, or someone with its secret, ever gets this far)."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValidationFailed("the payload is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise ValidationFailed("the payload is not a JSON object", field="body")
    return payload


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value: Any, limit: int = 20_000) -> str:
    """A string field, without NUL (PostgreSQL cannot store it), bounded; anything else is ''."""
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else ""


def ident(value: Any) -> str:
    """An id the provider gives as a number or a string; '' when it is neither (or absurd)."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value) if abs(value) < 10**20 else ""
    return text(value, 128).strip()


def form_pairs(raw: bytes, *, max_fields: int) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body's parameters in order (repeated names kept: a
    signature covers each value), or a clear 4xx."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"the form is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except UnicodeDecodeError:
        raise ValidationFailed("the form is not UTF-8", field="body") from None
    except ValueError:
        raise ValidationFailed(f"the form has more than {max_fields} fields", field="body") from None
