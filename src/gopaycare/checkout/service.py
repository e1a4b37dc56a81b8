"""A merchant payment authorized by PIN.

A wrong PIN is counted by identity (5 in a row lock the account) and recorded in the wallet
history as a failed payment with reason PIN_INVALID, so support sees it. A locked account's
payment is recorded as ACCOUNT_LOCKED.
"""

from __future__ import annotations

from ..identity.service import IdentityService
from ..platform.errors import PermissionDenied, Unauthenticated
from ..wallet.port import TransactionView
from ..wallet.rules import FailureReason
from ..wallet.service import ReferenceWallet


class Checkout:
    def __init__(self, identity: IdentityService, wallet: ReferenceWallet) -> None:
        self.identity = identity
        self.wallet = wallet

    def pay(self, customer_id: int, merchant_id: int, amount: int, pin: str, idempotency_key: str, *,
            channel: str = "qr") -> TransactionView:
        try:
            self.identity.verify_pin(customer_id, pin)
        except Unauthenticated as exc:
            return self.wallet.record_declined(
                customer_id, "payment", amount, idempotency_key, reason=FailureReason.PIN_INVALID,
                merchant_id=merchant_id, details={"attempts_left": exc.details.get("attempts_left")})
        except PermissionDenied:
            return self.wallet.record_declined(
                customer_id, "payment", amount, idempotency_key, reason=FailureReason.ACCOUNT_LOCKED,
                merchant_id=merchant_id)
        return self.wallet.pay_merchant(customer_id, merchant_id, amount, idempotency_key, channel=channel)
