"""Idempotency keys: the same key returns the first result; different parameters are an error."""

from __future__ import annotations

import pytest

from gopaycare.platform.errors import IdempotencyConflict
from tests.conftest import ledger_snapshot


def test_retry_returns_first_result_and_moves_money_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()

    first = svc.wallet.pay_merchant(customer, merchant, 30_000, "same-key")
    second = svc.wallet.pay_merchant(customer, merchant, 30_000, "same-key")

    assert first == second
    assert svc.wallet.summary(customer).balance == 70_000


def test_retry_after_balance_changed_still_returns_the_first_failure(svc, make_customer, make_merchant):
    customer = make_customer(balance=10_000)
    merchant = make_merchant()
    first = svc.wallet.pay_merchant(customer, merchant, 30_000, "k-fail")
    svc.wallet.topup(customer, 50_000, "card", "k-top")

    again = svc.wallet.pay_merchant(customer, merchant, 30_000, "k-fail")

    assert again == first
    assert again.failure_reason == "INSUFFICIENT_BALANCE"
    assert svc.wallet.summary(customer).balance == 60_000


def test_retry_of_a_full_refund_returns_the_refund(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "k-pay")
    refund = svc.wallet.refund(payment.reference, 40_000, "k-refund")

    assert svc.wallet.refund(payment.reference, 40_000, "k-refund") == refund
    assert svc.wallet.summary(customer).balance == 100_000


def test_retry_of_a_partial_refund_with_room_left_moves_money_once(svc, make_customer, make_merchant):
    """On PostgreSQL the refund is one statement (fastpay.py): a retry finds room left on the payment, so
    only the refund row's unique key stops it, and the whole statement (its claim and credit) is undone."""
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "k-pay")
    refund = svc.wallet.refund(payment.reference, 10_000, "k-part")
    before = ledger_snapshot(svc)

    assert svc.wallet.refund(payment.reference, 10_000, "k-part") == refund
    with pytest.raises(IdempotencyConflict):
        svc.wallet.refund(payment.reference, 15_000, "k-part")
    assert ledger_snapshot(svc) == before
    assert svc.wallet.get_transaction(payment.reference).refunded_amount == 10_000
    assert svc.wallet.summary(customer).balance == 70_000


# Another customer's same key is not "the same key": keys are per wallet (tests/test_idempotency_scope.py).
@pytest.mark.parametrize("change", ["amount", "merchant"])
def test_same_key_different_parameters_is_an_error(svc, make_customer, make_merchant, change):
    customer = make_customer(balance=100_000)
    merchant, other_merchant = make_merchant(), make_merchant("Other")
    svc.wallet.pay_merchant(customer, merchant, 30_000, "k-conflict")
    before = ledger_snapshot(svc)
    args = {"amount": (customer, merchant, 31_000), "merchant": (customer, other_merchant, 30_000)}[change]

    with pytest.raises(IdempotencyConflict) as exc:
        svc.wallet.pay_merchant(args[0], args[1], args[2], "k-conflict")

    assert exc.value.code == "idempotency_key_reused"
    assert ledger_snapshot(svc) == before


def test_key_used_by_another_operation_kind_is_an_error(svc, make_customer):
    customer = make_customer(balance=100_000)
    svc.wallet.topup(customer, 1_000, "card", "k-kind")
    with pytest.raises(IdempotencyConflict):
        svc.wallet.credit_cashback(customer, 1_000, "k-kind", campaign="X")


def test_empty_or_huge_key_is_invalid(svc, make_customer, make_merchant):
    from gopaycare.platform.errors import ValidationFailed

    customer = make_customer(balance=100_000)
    for key in ("", "k" * 129):
        with pytest.raises(ValidationFailed):
            svc.wallet.pay_merchant(customer, make_merchant(), 1_000, key)
