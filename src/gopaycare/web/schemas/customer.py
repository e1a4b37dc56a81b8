"""The customer's login and recovery, and a customer as an agent sees them (PII masked)."""

from __future__ import annotations

from pydantic import Field

from ...identity.service import CustomerView, LoginResult
from .common import In, Login, Out, Timestamp


class LoginIn(In):
    login: Login
    password: str | None = None
    pin: str | None = None
    # Longer than their columns is fine: identity.service.DeviceInfo fits them (a key over 64
    # characters is kept as its SHA-256, details are clipped); the bounds here only stop abuse.
    device_key: str | None = Field(default=None, max_length=512)
    platform: str | None = Field(default=None, max_length=256)
    os_version: str | None = Field(default=None, max_length=256)
    app_version: str | None = Field(default=None, max_length=256)


class CodeRequestIn(In):
    login: Login
    what: str = Field(pattern="^(password|pin)$")
    channel: str = Field(default="sms", pattern="^(sms|email)$")


class ResetIn(In):
    login: Login
    what: str = Field(pattern="^(password|pin)$")
    code: str
    new_secret: str


class FreezeIn(In):
    reason: str = Field(min_length=3, max_length=200)


class RevealIn(In):
    reason: str = Field(min_length=5, max_length=200)


class LoginOut(Out):
    token: str = Field(description="the access token (bearer), short-lived: renew it with refresh_token")
    customer_id: int
    expires_at: Timestamp
    refresh_token: str = Field(description="spent once at POST /api/v1/auth/refresh for a new pair")
    refresh_expires_at: Timestamp

    @classmethod
    def of(cls, result: LoginResult) -> LoginOut:
        assert result.refresh_token is not None and result.refresh_expires_at is not None
        return cls(token=result.token, customer_id=result.customer_id, expires_at=result.expires_at,
                   refresh_token=result.refresh_token, refresh_expires_at=result.refresh_expires_at)


class ResetCodeOut(Out):
    status: str = Field(description='always "sent_if_registered": the answer never tells whether a login exists')
    channel: str
    expires_in_seconds: int
    resend_after_seconds: int


class CustomerOut(Out):
    """A customer as an agent without `pii.reveal` sees them: phone, email and ID number masked."""

    id: int
    name: str
    phone: str | None = Field(description="masked: 0812****7890")
    email: str | None = Field(description="masked")
    id_number: str | None = Field(description="the last 4 digits only: ****1234")
    language: str
    locked: bool
    frozen: bool
    failed_logins: int

    @classmethod
    def of(cls, view: CustomerView) -> CustomerOut:
        return cls.model_validate(view.masked())


class ContactDetailsOut(Out):
    """Revealed in clear for an agent with `pii.reveal` (the reason is audited)."""

    phone: str
    email: str | None
