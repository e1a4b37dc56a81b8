"""Credentials' bodies: refreshing and ending a customer's session, WebSocket tickets, an agent's
logout, two-step login (TOTP) and recovery codes."""

from __future__ import annotations

from pydantic import Field

from ...desk.agent_two_step import Enrolment, TwoStepStatus
from .common import In, Out

Code = Field(default=None, max_length=64, description="a 6-digit code from the authenticator app")
RecoveryCode = Field(default=None, max_length=64, description="one of the recovery codes (each works once)")


class RefreshIn(In):
    refresh_token: str = Field(max_length=200)


class SocketTicketOut(Out):
    ticket: str = Field(description="opens one WebSocket once as `?ticket=…`, within expires_in_seconds")
    expires_in_seconds: int


class ChatTicketIn(In):
    visitor_token: str | None = Field(default=None, max_length=200, description=(
        "a customer going on in the conversation they began as this visitor (gpv.…)"))


class RevokedOut(Out):
    revoked: int


class TwoStepStatusOut(Out):
    enabled: bool
    pending: bool
    recovery_codes_left: int

    @classmethod
    def of(cls, status: TwoStepStatus) -> TwoStepStatusOut:
        return cls(enabled=status.enabled, pending=status.pending, recovery_codes_left=status.recovery_codes_left)


class EnrolmentOut(Out):
    secret: str = Field(description="the TOTP secret (base32) for the authenticator app")
    otpauth_uri: str = Field(description="the same as an otpauth:// URI (a QR code's content)")

    @classmethod
    def of(cls, enrolment: Enrolment) -> EnrolmentOut:
        return cls(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


class ConfirmIn(In):
    code: str = Field(max_length=64)


class RecoveryCodesOut(Out):
    recovery_codes: list[str] = Field(description="shown once: each lets you log in once without the app")


class DisableIn(In):
    totp_code: str | None = Code
    recovery_code: str | None = RecoveryCode
