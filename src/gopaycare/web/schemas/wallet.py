"""A wallet and its transactions, as the customer's app and the agents see them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...wallet.port import LimitUsage, TransactionView, WalletSummary
from .common import Amount, Id, In, Out, Timestamp


class PaymentIn(In):
    merchant_id: Id
    amount: Amount
    pin: str = Field(max_length=32)
    channel: str = Field(default="qr", pattern="^(qr|online)$")


class TopupIn(In):
    amount: Amount
    method: str = Field(pattern="^(bank_transfer|card|convenience_store)$")


class ReverseIn(In):
    reason: str = Field(min_length=3, max_length=200)


class TransactionOut(Out):
    reference: str
    kind: str
    status: str
    amount: int
    currency: str
    created_at: Timestamp
    updated_at: Timestamp
    failure_reason: str | None
    failure_details: dict[str, Any]
    method: str | None
    merchant_id: int | None
    merchant_name: str | None
    description: str | None
    original_reference: str | None
    refunded_amount: int
    direction: str = Field(description='as seen from the customer whose history this is: "out" or "in"')
    pending_too_long: bool
    refundable_amount: int

    @classmethod
    def of(cls, t: TransactionView) -> TransactionOut:
        return cls(reference=t.reference, kind=t.kind, status=t.status, amount=t.amount, currency=t.currency,
                   created_at=t.created_at, updated_at=t.updated_at, failure_reason=t.failure_reason,
                   failure_details=t.failure_details, method=t.method, merchant_id=t.merchant_id,
                   merchant_name=t.merchant_name, description=t.description,
                   original_reference=t.original_reference, refunded_amount=t.refunded_amount,
                   direction=t.direction, pending_too_long=t.pending_too_long,
                   refundable_amount=t.refundable_amount)


class TransactionPage(Out):
    items: list[TransactionOut]
    next: str | None = Field(description="pass as `before` for the next page; null on the last one")

    @classmethod
    def of(cls, items: list[TransactionView], limit: int) -> TransactionPage:
        return cls(items=[TransactionOut.of(t) for t in items],
                   next=items[-1].reference if len(items) == limit else None)


class LimitOut(Out):
    limit: int
    used: int
    remaining: int
    resets_at: Timestamp

    @classmethod
    def of(cls, usage: LimitUsage) -> LimitOut:
        return cls(limit=usage.limit, used=usage.used, remaining=usage.remaining, resets_at=usage.resets_at)


class WalletOut(Out):
    customer_id: int
    currency: str
    tier: str
    balance: int
    balance_cap: int
    daily_outgoing: LimitOut
    monthly_incoming: LimitOut
    locked: bool
    frozen: bool

    @classmethod
    def of(cls, w: WalletSummary) -> WalletOut:
        return cls(customer_id=w.customer_id, currency=w.currency, tier=w.tier, balance=w.balance,
                   balance_cap=w.balance_cap, daily_outgoing=LimitOut.of(w.daily_outgoing),
                   monthly_incoming=LimitOut.of(w.monthly_incoming), locked=w.locked, frozen=w.frozen)
