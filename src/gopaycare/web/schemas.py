"""Request bodies and the JSON shapes of domain views."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field

from ..wallet.port import TransactionView, WalletSummary


class LoginIn(BaseModel):
    login: str = Field(description="phone number or email")
    password: str | None = None
    pin: str | None = None
    device_key: str | None = Field(default=None, max_length=64)
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None


class CodeRequestIn(BaseModel):
    login: str
    what: str = Field(pattern="^(password|pin)$")
    channel: str = Field(default="sms", pattern="^(sms|email)$")


class ResetIn(BaseModel):
    login: str
    what: str = Field(pattern="^(password|pin)$")
    code: str
    new_secret: str


class PaymentIn(BaseModel):
    merchant_id: int
    amount: int = Field(gt=0)
    pin: str
    channel: str = Field(default="qr", pattern="^(qr|online)$")


class TopupIn(BaseModel):
    amount: int = Field(gt=0)
    method: str = Field(pattern="^(bank_transfer|card|convenience_store)$")


class FreezeIn(BaseModel):
    reason: str = Field(min_length=3, max_length=200)


class ReverseIn(BaseModel):
    reason: str = Field(min_length=3, max_length=200)


class RevealIn(BaseModel):
    reason: str = Field(min_length=5, max_length=200)


def txn_out(view: TransactionView) -> dict[str, Any]:
    data = asdict(view)
    data["refundable_amount"] = view.refundable_amount
    data["created_at"] = view.created_at.isoformat()
    data["updated_at"] = view.updated_at.isoformat()
    return data


def summary_out(summary: WalletSummary) -> dict[str, Any]:
    data = asdict(summary)
    for key in ("daily_outgoing", "monthly_incoming"):
        usage = getattr(summary, key)
        data[key] = {"limit": usage.limit, "used": usage.used, "remaining": usage.remaining,
                     "resets_at": usage.resets_at.isoformat()}
    return data
