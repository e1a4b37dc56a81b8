"""Meta's webhooks (WhatsApp Cloud API, Messenger and Instagram): the subscription
handshake, the X-Hub-Signature-256 check, and one call to the Graph API."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any

import httpx

from ..platform.errors import PermissionDenied
from ..platform.outbox import DeliveryError, DeliveryRefused
from .sending import response_json
from .webhook import check_hmac_sha256, json_body, obj, text


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


class MetaWebhook:
    """What every Meta webhook does first: the handshake, and the signed JSON body."""

    def __init__(self, app_secret: str, verify_token: str) -> None:
        self.app_secret = app_secret
        self.verify_token = verify_token

    def challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        return subscription_challenge(mode, token, challenge, self.verify_token)

    def payload(self, raw: bytes, signature: str | None) -> dict[str, Any]:
        check_signature(raw, signature, self.app_secret)
        return json_body(raw)


def graph_post(url: str, payload: dict[str, Any], token: str, *, who: str, retry_codes: Collection[int],
               timeout: float) -> dict[str, Any]:
    """POST to the Graph API with the token in the header (never the URL: URLs end up in logs and
    proxies); its answer, or DeliveryError when another try may pass (unreachable, 401, 429, 5xx, a
    rate-limit code in `retry_codes`) and DeliveryRefused when it cannot."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{who} unreachable: {type(exc).__name__}") from None
    answer = response_json(response)
    if response.status_code >= 300:
        error = obj(answer.get("error"))
        code, subcode = error.get("code"), error.get("error_subcode")
        detail = (f"{who} answered {response.status_code} ({code}{f'/{subcode}' if subcode else ''}: "
                  f"{text(error.get('message'), 200)})")
        may_pass = response.status_code in (401, 429) or response.status_code >= 500 or code in retry_codes
        raise DeliveryError(detail) if may_pass else DeliveryRefused(detail)
    return answer
