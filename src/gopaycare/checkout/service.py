"""A merchant payment authorized by PIN.

A wrong PIN is counted by identity (5 in a row lock the account) and recorded in the wallet
history as a failed payment with reason PIN_INVALID, so support sees it. A locked account's
payment is recorded as ACCOUNT_LOCKED.
"""

from __future__ import annotations

from ..identity.service import IdentityService
from ..platform.errors import IdempotencyConflict, PermissionDenied, Unauthenticated
from ..wallet.port import TransactionView
from ..wallet.rules import FailureReason
from ..wallet.service import ReferenceWallet


class Checkout:
    def __init__(self, identity: IdentityService, wallet: ReferenceWallet) -> None:
        self.identity = identity
        self.wallet = wallet

    def pay(self, customer_id: int, merchant_id: int, amount: int, pin: str, idempotency_key: str, *,
            channel: str = "qr") -> TransactionView:
        if self.wallet.find_by_idempotency_key(idempotency_key, customer_id=customer_id) is not None:
            # A retry: the first attempt was already authorized (or declined); do not ask the PIN
            # again, return its result (or IdempotencyConflict if the request differs).
            return self._retry(customer_id, merchant_id, amount, idempotency_key, channel)
        try:
            self.identity.verify_pin(customer_id, pin)
        except Unauthenticated as exc:
            return self.wallet.record_declined(
                customer_id, "payment", amount, idempotency_key, reason=FailureReason.PIN_INVALID,
                merchant_id=merchant_id, details={"attempts_left": exc.details.get("attempts_left")})
        except PermissionDenied as exc:
            # The attempt that locks the account was itself a wrong PIN.
            if exc.details.get("locked_by_this_attempt"):
                return self.wallet.record_declined(
                    customer_id, "payment", amount, idempotency_key, reason=FailureReason.PIN_INVALID,
                    merchant_id=merchant_id, details={"attempts_left": 0, "account_locked": True})
            return self.wallet.record_declined(
                customer_id, "payment", amount, idempotency_key, reason=FailureReason.ACCOUNT_LOCKED,
                merchant_id=merchant_id)
        return self.wallet.pay_merchant(customer_id, merchant_id, amount, idempotency_key, channel=channel)

    def _retry(self, customer_id: int, merchant_id: int, amount: int, key: str, channel: str) -> TransactionView:
        first = self.wallet.find_by_idempotency_key(key, customer_id=customer_id)
        if first is not None and first.status == "failed" and first.failure_reason in (
                FailureReason.PIN_INVALID, FailureReason.ACCOUNT_LOCKED):
            # Declined before the ledger: its fingerprint is the decline's, so compare by hand.
            if (first.amount, first.merchant_id) != (amount, merchant_id):
                raise IdempotencyConflict("this idempotency key was already used for a different request",
                                          idempotency_key=key, reference=first.reference)
            return first
        return self.wallet.pay_merchant(customer_id, merchant_id, amount, key, channel=channel)
