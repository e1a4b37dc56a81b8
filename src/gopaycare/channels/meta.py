"""Meta's webhooks (WhatsApp Cloud API, Messenger and Instagram): the subscription
handshake, the X-Hub-Signature-256 check with the app secret of each channel account the body
names, and one call to the Graph API."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection
from typing import Any

import httpx

from ..platform.errors import NotFound, PermissionDenied, Unauthenticated
from ..platform.outbox import DeliveryError, DeliveryRefused
from .accounts import Account, ChannelAccounts
from .sending import response_json
from .webhook import hmac_sha256_matches, json_body, obj, text


def subscription_challenge(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str:
    """`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: echo the challenge when the
    token is ours, so Meta knows the endpoint is ours."""
    if mode != "subscribe" or not token or not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise PermissionDenied("the verify token does not match")
    if not challenge or not challenge.isprintable():
        raise PermissionDenied("the challenge is missing or not text")
    return challenge


class MetaWebhook:
    """What every Meta webhook does first: the handshake (any of its accounts' verify tokens), and
    the signed JSON body. Each account the body names must have signed it with its own app secret:
    a body signed by one app that names another's number or page is refused whole."""

    provider = ""

    def __init__(self, accounts: ChannelAccounts) -> None:
        self.accounts = accounts

    def on(self) -> list[Account]:
        found = [a for a in self.accounts.active(self.provider) if a.secret("app_secret")]
        if not found:
            raise NotFound(f"the {self.provider} channel is not configured")
        return found

    def challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        tokens = [t for t in (a.secret("verify_token") for a in self.on()) if t]
        ours = next((t for t in tokens if token and hmac.compare_digest(token.encode(), t.encode())), "")
        return subscription_challenge(mode, token, challenge, ours)

    def payload(self, raw: bytes, signature: str | None) -> tuple[dict[str, Any], Callable[[str], Account | None]]:
        """The body, once some account's app secret signed it, and who each account id in it is:
        an account of ours that signed it, None for an id of none of ours (its entry is skipped)."""
        accounts = self.on()
        if not signature:
            raise Unauthenticated("the signature is missing")
        signers = {a.id for a in accounts if hmac_sha256_matches(raw, signature, a.secret("app_secret") or "")}
        if not signers:
            raise PermissionDenied("the signature does not match the body")
        payload = json_body(raw)
        implicit = next((a for a in accounts if a.id is None), None)

        def account_for(external_id: str) -> Account | None:
            account = next((a for a in accounts if a.id is not None and self.names(a, external_id)), implicit)
            if account is not None and account.id not in signers:
                raise PermissionDenied(f"the body names a {self.provider} account whose app secret did not sign it")
            return account

        return payload, account_for

    def names(self, account: Account, external_id: str) -> bool:
        """Whether the payload's id (a number, a page) is this account's."""
        return bool(external_id) and account.external_id == external_id


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
        raise DeliveryError(detail) if may_pass else GraphRefused(detail, code)
    return answer


class GraphRefused(DeliveryRefused):
    """The Graph API will not take this message; `code` says why (131047: WhatsApp's window is closed)."""

    def __init__(self, detail: str, code: Any) -> None:
        super().__init__(detail)
        self.code = code
