"""The providers' callback formats: each checks its signature and reads one `ProviderEvent`.

- Midtrans HTTP notification (JSON): `signature_key` = SHA-512 hex of order_id + status_code + gross_amount
  + the server key. Midtrans sends no event id, so the event is its transaction id with the status
  (a payment's "pending" then "settlement" are two events; a resent "settlement" is the same one).
  Our reference is the `order_id` we gave it.
- Stripe event (JSON): the `Stripe-Signature` header `t=<unix time>,v1=<hex>[,v1=...]`, each v1 an
  HMAC-SHA256 of "<t>.<raw body>" with the endpoint's signing secret; a timestamp further than the
  tolerance from now is refused (a replay). The event id is Stripe's `evt_...`; our reference is the
  payment intent's `metadata.reference`. Stripe counts IDR in hundredths (two decimals); the ledger in
  whole rupiah.

A bad or missing signature raises `Unauthenticated` before anything is read or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..platform.errors import Unauthenticated, ValidationFailed

MAX_ID = 128


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    event_id: str
    reference: str | None
    outcome: str  # succeeded | failed | none (a status that settles nothing)
    amount: int | None  # in the ledger's minor units (whole rupiah)
    currency: str | None
    failure_reason: str | None = None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the body is not JSON", field="body") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body is not a JSON object", field="body")
    return body


def _text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID or "\x00" in value:
        raise ValidationFailed(f"{field} must be text of 1 to {MAX_ID} characters", field=field)
    return value


# ---------------------------------------------------------------- Midtrans

MIDTRANS_SUCCESS = {"settlement"}
MIDTRANS_FAILURE = {"deny": "RISK_DECLINED", "cancel": "BANK_REJECTED", "expire": "PROVIDER_TIMEOUT",
                    "failure": "BANK_REJECTED"}


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512((order_id + status_code + gross_amount + server_key).encode()).hexdigest()


def midtrans_event(raw: bytes, server_key: str | None) -> ProviderEvent:
    if not server_key:
        raise Unauthenticated("Midtrans callbacks are not configured", code="signature_invalid")
    body = _json(raw)
    fields = {name: body.get(name) for name in ("order_id", "status_code", "gross_amount", "signature_key")}
    if not all(isinstance(v, str) and len(v) <= 256 for v in fields.values()):
        raise Unauthenticated("the notification is not signed", code="signature_invalid")
    expected = midtrans_signature(fields["order_id"], fields["status_code"], fields["gross_amount"], server_key)
    if not hmac.compare_digest(expected, fields["signature_key"].lower()):
        raise Unauthenticated("the notification's signature_key does not match", code="signature_invalid")
    status = _text(body.get("transaction_status"), "transaction_status")
    transaction_id = _text(body.get("transaction_id"), "transaction_id")
    if status == "capture":  # cards: captured is paid unless the fraud check holds it
        outcome = "succeeded" if body.get("fraud_status") in (None, "accept") else "none"
    elif status in MIDTRANS_SUCCESS:
        outcome = "succeeded"
    elif status in MIDTRANS_FAILURE:
        outcome = "failed"
    else:  # pending, authorize, refund, partial_refund, chargeback...: nothing to settle here
        outcome = "none"
    return ProviderEvent(
        provider="midtrans", event_id=f"{transaction_id}:{status}"[:MAX_ID], reference=fields["order_id"][:64],
        outcome=outcome, amount=_whole(fields["gross_amount"], "gross_amount", hundredths=False),
        currency=(body.get("currency") or "IDR") if isinstance(body.get("currency"), str | None) else None,
        failure_reason=MIDTRANS_FAILURE.get(status or ""))


def _whole(value: Any, field: str, *, hundredths: bool) -> int:
    """A provider's amount in whole rupiah: "150000.00" (Midtrans) or 15000000 hundredths (Stripe)."""
    try:
        number = Decimal(value) if isinstance(value, str) else Decimal(int(value)) if isinstance(value, int) \
            and not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number <= 0 or number > 10**15:
        raise ValidationFailed(f"{field} is not an amount", field=field)
    whole = number / 100 if hundredths else number
    if whole != whole.to_integral_value():
        raise ValidationFailed(f"{field} is not a whole number of rupiah", field=field)
    return int(whole)


# ---------------------------------------------------------------- Stripe

STRIPE_SUCCESS = {"payment_intent.succeeded"}
STRIPE_FAILURE = {"payment_intent.payment_failed": "BANK_REJECTED", "payment_intent.canceled": "PROVIDER_TIMEOUT"}


def stripe_signature(timestamp: int, raw: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def check_stripe_signature(raw: bytes, header: str | None, secret: str | None, *, now: datetime,
                           tolerance_seconds: int) -> None:
    if not secret:
        raise Unauthenticated("Stripe callbacks are not configured", code="signature_invalid")
    if not header:
        raise Unauthenticated("the Stripe-Signature header is missing", code="signature_invalid")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdecimal() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise Unauthenticated("the Stripe-Signature header has no timestamp or v1 signature",
                              code="signature_invalid")
    expected = stripe_signature(timestamp, raw, secret)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise Unauthenticated("the Stripe-Signature does not match", code="signature_invalid")
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise Unauthenticated("the Stripe-Signature timestamp is outside the tolerance", code="signature_expired")


def stripe_event(raw: bytes, header: str | None, secret: str | None, *, now: datetime,
                 tolerance_seconds: int) -> ProviderEvent:
    check_stripe_signature(raw, header, secret, now=now, tolerance_seconds=tolerance_seconds)
    body = _json(raw)
    event_id = _text(body.get("id"), "id")
    kind = _text(body.get("type"), "type")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise ValidationFailed("data.object is missing", field="data.object")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    reference = _text(metadata.get("reference"), "data.object.metadata.reference", required=False)
    outcome = "succeeded" if kind in STRIPE_SUCCESS else "failed" if kind in STRIPE_FAILURE else "none"
    amount = None
    if outcome != "none":
        field = "amount_received" if outcome == "succeeded" and "amount_received" in obj else "amount"
        amount = _whole(obj.get(field), f"data.object.{field}", hundredths=True)
    currency = obj.get("currency")
    return ProviderEvent(provider="stripe", event_id=event_id or "", reference=reference[:64] if reference else None,
                         outcome=outcome, amount=amount,
                         currency=currency.upper() if isinstance(currency, str) and len(currency) <= 8 else None,
                         failure_reason=STRIPE_FAILURE.get(kind or ""))
