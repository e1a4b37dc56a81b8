"""SMS through a provider speaking Twilio's Messages API (one-time codes, notifications)."""

from __future__ import annotations

import httpx

from ..platform.outbox import DeliveryError, DeliveryRefused, OutboxMessage

# The provider says the message itself is wrong (a bad number): sending it again cannot help.
REFUSED = (400, 404, 422)


class TwilioSmsSender:
    """POST {base}/2010-04-01/Accounts/{sid}/Messages.json with To, From, Body (basic auth)."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str, from_number: str,
                 timeout: float = 10.0) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.from_number = from_number
        self.timeout = timeout

    def send(self, message: OutboxMessage) -> str | None:
        try:
            response = httpx.post(
                self.url, auth=self.auth, timeout=self.timeout,
                data={"To": message.destination, "From": self.from_number, "Body": message.body},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from None
        if response.status_code in REFUSED:
            raise DeliveryRefused(f"SMS provider refused the message ({response.status_code})")
        if response.status_code >= 300:
            raise DeliveryError(f"SMS provider answered {response.status_code}")
        return str(response.json().get("sid") or "") or None
