"""A merchant payment authorized by PIN.

A wrong PIN is counted by identity (5 in a row lock the account) and recorded in the wallet
history as a failed payment with reason PIN_INVALID, so support sees it. A locked account's
payment is recorded as ACCOUNT_LOCKED.
"""

from __future__ import annotations

from collections.abc import Callable

from ..identity.service import IdentityService
from ..platform.errors import PermissionDenied, Unauthenticated
from ..wallet.port import TransactionView, WalletBackend
from ..wallet.rules import FailureReason


class Checkout:
    def __init__(self, identity: IdentityService, wallet: WalletBackend) -> None:
        self.identity = identity
        self.wallet = wallet
        # Set by the jobs: a succeeded payment is handed on (to the promotions engine's award job).
        self.on_paid: Callable[[int, str], object] | None = None

    def pay(self, customer_id: int, merchant_id: int, amount: int, pin: str, idempotency_key: str, *,
            channel: str = "qr") -> TransactionView:
        if self.wallet.find_by_idempotency_key(idempotency_key, customer_id=customer_id) is None:
            # A first attempt: the PIN decides. A retry was already authorized (or declined) and
            # must not count a failure again; pay_merchant returns its first result.
            try:
                self.identity.verify_pin(customer_id, pin)
            except Unauthenticated as exc:
                return self._decline(customer_id, merchant_id, amount, idempotency_key, channel,
                                     FailureReason.PIN_INVALID, attempts_left=exc.details.get("attempts_left"))
            except PermissionDenied as exc:
                if exc.details.get("locked_by_this_attempt"):
                    # The attempt that locks the account was itself a wrong PIN.
                    return self._decline(customer_id, merchant_id, amount, idempotency_key, channel,
                                         FailureReason.PIN_INVALID, attempts_left=0, account_locked=True)
                return self._decline(customer_id, merchant_id, amount, idempotency_key, channel,
                                     FailureReason.ACCOUNT_LOCKED)
        payment = self.wallet.pay_merchant(customer_id, merchant_id, amount, idempotency_key, channel=channel)
        if payment.status == "succeeded" and self.on_paid is not None:
            self.on_paid(customer_id, payment.reference)
        return payment

    def _decline(self, customer_id: int, merchant_id: int, amount: int, key: str, channel: str,
                 reason: FailureReason, **details: object) -> TransactionView:
        return self.wallet.decline_payment(customer_id, merchant_id, amount, key, reason=reason, channel=channel,
                                           details=details or None)
