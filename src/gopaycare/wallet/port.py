"""The wallet interface GoPay Care depends on, and the views it returns.

Declines (not enough balance, a limit reached, a frozen account) are outcomes, not exceptions:
the operation returns a `TransactionView` with status "failed" and a machine-readable reason
with the numbers that explain it. Invalid requests (unknown customer, amount <= 0, a refund
above what is left) raise a `DomainError` and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..platform.audit import Actor


@dataclass(frozen=True)
class TransactionView:
    reference: str
    kind: str
    status: str
    amount: int
    currency: str
    created_at: datetime
    updated_at: datetime
    failure_reason: str | None = None
    failure_details: dict[str, Any] = field(default_factory=dict)
    method: str | None = None
    merchant_id: int | None = None
    merchant_name: str | None = None
    description: str | None = None
    original_reference: str | None = None
    refunded_amount: int = 0
    # Direction as seen from the customer whose history this is: "out" or "in".
    direction: str = "out"
    pending_too_long: bool = False

    @property
    def refundable_amount(self) -> int:
        if self.kind != "payment" or self.status != "succeeded":
            return 0
        return self.amount - self.refunded_amount


@dataclass(frozen=True)
class MerchantView:
    id: int
    name: str
    category: str
    status: str


@dataclass(frozen=True)
class PaidPayment:
    """A succeeded payment with the customer who paid it (what the promotions engine listens to)."""

    customer_id: int
    payment: TransactionView


@dataclass(frozen=True)
class LimitUsage:
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class WalletSummary:
    customer_id: int
    currency: str
    tier: str
    balance: int
    balance_cap: int
    daily_outgoing: LimitUsage
    monthly_incoming: LimitUsage
    locked: bool
    frozen: bool


class WalletBackend(Protocol):
    """What the help desk and the assistant may ask of a wallet. Every money-moving call takes
    an idempotency key: the same key returns the first result; the same key with different
    parameters raises IdempotencyConflict."""

    def open_wallet(
        self, customer_id: int, tier: str = "basic", *, locked: bool = False, frozen: bool = False
    ) -> WalletSummary:
        """Safe to call twice: a wallet already open is returned as it is."""
        ...

    def summary(self, customer_id: int) -> WalletSummary: ...
    def set_tier(self, customer_id: int, tier: str) -> WalletSummary: ...
    def set_restrictions(
        self, customer_id: int, *, locked: bool | None = None, frozen: bool | None = None
    ) -> WalletSummary: ...

    def topup(
        self, customer_id: int, amount: int, method: str, idempotency_key: str, *, pending: bool = False
    ) -> TransactionView: ...
    def pay_merchant(
        self, customer_id: int, merchant_id: int, amount: int, idempotency_key: str, *,
        channel: str = "qr", via_provider: bool = False, description: str | None = None,
    ) -> TransactionView: ...
    def transfer(
        self, from_customer_id: int, to_customer_id: int, amount: int, idempotency_key: str
    ) -> TransactionView: ...
    def withdraw(
        self, customer_id: int, amount: int, bank_account: str, idempotency_key: str
    ) -> TransactionView: ...
    def refund(
        self, original_reference: str, amount: int, idempotency_key: str, *, reason: str | None = None
    ) -> TransactionView: ...
    def credit_cashback(
        self, customer_id: int, amount: int, idempotency_key: str, *, campaign: str,
        original_reference: str | None = None,
    ) -> TransactionView: ...
    def claw_back_cashback(
        self, customer_id: int, amount: int, idempotency_key: str, *, original_reference: str,
    ) -> TransactionView:
        """Up to `amount` back from the wallet to the cashback account, never below zero."""
        ...

    def reverse(self, reference: str, idempotency_key: str, *, actor: Actor, reason: str) -> TransactionView:
        """Who gave the money back and why are audited with the reversal; no reason, no reversal."""
        ...

    def credit_provisional(self, customer_id: int, amount: int, idempotency_key: str, *, case: str
                           ) -> TransactionView:
        """A dispute's provisional credit, from the platform's disputes account (wallet/provisional.py)."""
        ...

    def take_back_provisional(self, customer_id: int, amount: int, idempotency_key: str, *, case: str
                              ) -> TransactionView:
        """Up to `amount` of a provisional credit back; the view's amount is what was taken."""
        ...

    def complete(
        self, reference: str, *, succeeded: bool, failure_reason: str | None = None
    ) -> TransactionView: ...
    def decline_payment(
        self, customer_id: int, merchant_id: int, amount: int, idempotency_key: str, *, reason: str,
        channel: str = "qr", details: dict[str, Any] | None = None,
    ) -> TransactionView: ...

    def get_transaction(self, reference: str) -> TransactionView: ...
    def owner_of(self, reference: str) -> int | None: ...
    def find_by_idempotency_key(self, key: str, *, customer_id: int) -> TransactionView | None: ...
    def derived_from(self, reference: str, kind: str) -> list[TransactionView]: ...
    def list_transactions(
        self, customer_id: int, *, limit: int = 20, before: str | None = None, status: str | None = None
    ) -> list[TransactionView]: ...
    def overdue_pending(self, *, limit: int = 100) -> list[TransactionView]: ...
    def paid_after(self, after: tuple[datetime, str], until: datetime, *, limit: int = 500) -> list[PaidPayment]: ...
    def merchant(self, merchant_id: int) -> MerchantView: ...
