"""Meta's webhooks (WhatsApp Cloud API, Messenger and Instagram): the subscription
handshake and the X-Hub-Signature-256 check."""

from __future__ import annotations

import hmac

from ..platform.errors import PermissionDenied
from .webhook import check_hmac_sha256


def subscription_challenge(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str:
    """`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: echo the challenge when the
    token is ours, so Meta knows the endpoint is ours."""
    if mode != "subscribe" or not token or not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise PermissionDenied("the verify token does not match")
    if not challenge or not challenge.isprintable():
        raise PermissionDenied("the challenge is missing or not text")
    return challenge


def check_signature(raw: bytes, header: str | None, app_secret: str) -> None:
    check_hmac_sha256(raw, header, app_secret)
