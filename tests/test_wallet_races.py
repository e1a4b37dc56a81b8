"""Two-thread races on every money path: no overdraft, no over-refund, one key moves money once.

Run on SQLite and PostgreSQL; on PostgreSQL the threads really interleave on row locks.
"""

from __future__ import annotations

import pytest

from gopaycare.platform.audit import Actor
from gopaycare.platform.errors import Conflict
from gopaycare.wallet.verify import verify
from tests.helpers import race

ROUNDS = 5


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_payments_never_overdraw(svc, make_customer, make_merchant, round_):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()

    results = race(lambda: svc.wallet.pay_merchant(customer, merchant, 60_000, "race-a"),
                   lambda: svc.wallet.pay_merchant(customer, merchant, 60_000, "race-b"))

    statuses = sorted(r.status for r in results)
    assert statuses == ["failed", "succeeded"]
    assert [r.failure_reason for r in results if r.status == "failed"] == ["INSUFFICIENT_BALANCE"]
    assert svc.wallet.summary(customer).balance == 40_000
    assert verify(svc.db).ok


def test_eight_concurrent_payments_spend_exactly_the_balance(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()

    results = race(*[(lambda i=i: svc.wallet.pay_merchant(customer, merchant, 20_000, f"race8-{i}"))
                     for i in range(8)])

    assert sum(r.status == "succeeded" for r in results) == 5
    assert svc.wallet.summary(customer).balance == 0
    assert verify(svc.db).ok


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_refunds_never_exceed_the_original(svc, make_customer, make_merchant, round_):
    customer = make_customer(balance=200_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 100_000, "race-pay")

    results = race(lambda: svc.wallet.refund(payment.reference, 60_000, "race-r1"),
                   lambda: svc.wallet.refund(payment.reference, 60_000, "race-r2"))

    refunds = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(refunds) == 1 and refunds[0].status == "succeeded"
    assert len(errors) == 1 and isinstance(errors[0], Conflict) and errors[0].code == "refund_exceeds_original"
    assert svc.wallet.get_transaction(payment.reference).refunded_amount == 60_000
    assert svc.wallet.summary(customer).balance == 160_000
    assert verify(svc.db).ok


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_retries_with_one_key_move_money_once(svc, make_customer, make_merchant, round_):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()

    results = race(lambda: svc.wallet.pay_merchant(customer, merchant, 30_000, "one-key"),
                   lambda: svc.wallet.pay_merchant(customer, merchant, 30_000, "one-key"))

    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0] == results[1]
    assert svc.wallet.summary(customer).balance == 70_000
    assert verify(svc.db).ok


def test_concurrent_retries_of_one_refund_refund_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 100_000, "rr-pay")

    results = race(lambda: svc.wallet.refund(payment.reference, 100_000, "rr-key"),
                   lambda: svc.wallet.refund(payment.reference, 100_000, "rr-key"))

    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0] == results[1]
    assert svc.wallet.summary(customer).balance == 100_000
    assert verify(svc.db).ok


def test_opposite_transfers_do_not_deadlock(svc, make_customer):
    a = make_customer(tier="plus", balance=500_000)
    b = make_customer(tier="plus", balance=500_000)

    for i in range(ROUNDS):
        results = race(lambda i=i: svc.wallet.transfer(a, b, 10_000, f"ab-{i}"),
                       lambda i=i: svc.wallet.transfer(b, a, 20_000, f"ba-{i}"))
        assert [r.status for r in results] == ["succeeded", "succeeded"]

    assert svc.wallet.summary(a).balance == 500_000 + ROUNDS * 10_000
    assert svc.wallet.summary(b).balance == 500_000 - ROUNDS * 10_000
    assert verify(svc.db).ok


def test_concurrent_reversals_give_money_back_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    pending = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "rv-pay", channel="online",
                                      via_provider=True)
    svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")

    def reverse(key: str) -> object:
        return svc.wallet.reverse(pending.reference, key, actor=Actor.agent(7), reason="provider timeout")

    results = race(lambda: reverse("rv-1"), lambda: reverse("rv-2"))

    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert svc.wallet.summary(customer).balance == 100_000
    assert verify(svc.db).ok
