"""What needs no human: the policy's rules, each a pure decision on facts the service gathered.

The rules and their order (ADR 0023):
1. `failed_payment`: money taken for a payment that then failed goes back at once (a reversal);
2. `small_amount`: below the threshold, for a customer in good standing, within their monthly cap;
3. `merchant_first`: a succeeded payment to a merchant: the merchant holds the money and answers first;
4. otherwise GoPay reviews it (`review`).
A merchant's accepted cancellation is approved at once by `merchant_confirmed` (service.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..platform.settings import RefundPolicy

FAILED_PAYMENT = "failed_payment"
SMALL_AMOUNT = "small_amount"
MERCHANT_FIRST = "merchant_first"
MERCHANT_CONFIRMED = "merchant_confirmed"
REVIEW = "review"


@dataclass(frozen=True)
class Facts:
    amount: int
    failed_payment: bool  # the payment failed after its money was taken
    merchant_id: int | None  # the merchant who holds the money (a succeeded payment)
    good_standing: bool  # wallet neither locked nor frozen, no rejected refund lately
    auto_approved_this_month: int  # what the small-amount rule already gave this customer this month


@dataclass(frozen=True)
class Decision:
    rule: str
    status: str  # approved | awaiting_merchant | under_review

    @property
    def approved(self) -> bool:
        return self.status == "approved"


def decide(policy: RefundPolicy, facts: Facts) -> Decision:
    if facts.failed_payment:
        if policy.refund_failed_payments:
            return Decision(FAILED_PAYMENT, "approved")
        return Decision(REVIEW, "under_review")
    if (facts.amount < policy.auto_approve_below and facts.good_standing
            and facts.auto_approved_this_month + facts.amount <= policy.auto_approve_monthly_cap):
        return Decision(SMALL_AMOUNT, "approved")
    if facts.merchant_id is not None:
        return Decision(MERCHANT_FIRST, "awaiting_merchant")
    return Decision(REVIEW, "under_review")


def needs_second_approval(policy: RefundPolicy, amount: int) -> bool:
    return amount > policy.second_approval_above
