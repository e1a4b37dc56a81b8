"""Refund races on PostgreSQL, where the threads really interleave on row locks: 50 approvals of one
refund move money once, concurrent partial refunds never exceed the payment, and a clawback retried
at once happens once. After every race the balances add up and `ledger verify` passes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from gopaycare.platform.errors import Conflict, DomainError
from gopaycare.refunds.models import RefundClawback, RefundRequest
from gopaycare.wallet.verify import verify
from tests.helpers import race


@pytest.fixture(autouse=True)
def only_postgresql(backend):
    if backend != "postgresql":
        pytest.skip("the races interleave on row locks on PostgreSQL; SQLite runs one writer at a time")


def wallet_moves(svc, kind: str, original: str) -> int:
    with svc.db.read() as s:
        return s.execute(text("SELECT COUNT(*) FROM wallet_transactions t JOIN wallet_transactions o "
                              "ON o.id = t.original_id WHERE t.kind = :kind AND t.status = 'succeeded' "
                              "AND o.reference = :ref"), {"kind": kind, "ref": original}).scalar_one()


def test_fifty_concurrent_approvals_of_one_refund_move_money_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=2_000_000)
    merchant = make_merchant()
    payment = svc.wallet.pay_merchant(customer, merchant, 900_000, "big")
    svc.wallet.credit_cashback(customer, 45_000, "cb-big", campaign="promo", original_reference=payment.reference)
    request = svc.refunds.submit(customer, payment.reference, reason_code="goods_not_received", idempotency_key="k1")
    svc.refunds.merchant_decline(merchant, request.id, reason="we shipped it")
    maker = svc.agents.create("maker@gopay.test", "supervisor")
    checkers = [svc.agents.create(f"checker{i}@gopay.test", "supervisor") for i in range(5)]
    svc.refunds.propose(maker.id, request.id, reason="no proof of delivery")

    results = race(*[(lambda i=i: svc.refunds.approve(checkers[i % 5].id, request.id, reason="approved"))
                     for i in range(50)])

    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(done) == 1 and done[0].status == "refunded"
    assert len(refused) == 49 and all(isinstance(e, Conflict) and e.code == "not_under_review" for e in refused)
    assert wallet_moves(svc, "refund", payment.reference) == 1
    assert wallet_moves(svc, "clawback", payment.reference) == 1
    assert svc.wallet.summary(customer).balance == 2_000_000  # -900.000 +45.000 +900.000 -45.000
    with svc.db.read() as s:
        approvals = s.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'refund.approved'")).scalar_one()
    assert approvals == 1
    assert verify(svc.db).ok


def test_fifty_concurrent_runs_of_an_approved_refund_pay_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 30_000, "p")
    run = svc.refunds.execution.run
    svc.refunds.execution.run = lambda request_id, resume=False: svc.refunds.get(request_id)  # the job is lost
    request = svc.refunds.submit(customer, payment.reference, reason_code="duplicate_charge", idempotency_key="k1")
    svc.refunds.execution.run = run
    assert request.status == "approved"

    results = race(*[(lambda i=i: svc.refunds.execution.run(request.id, resume=i % 2 == 0)) for i in range(50)])

    assert not [r for r in results if isinstance(r, Exception)]
    assert svc.refunds.get(request.id).status == "refunded"
    assert wallet_moves(svc, "refund", payment.reference) == 1
    assert svc.wallet.summary(customer).balance == 100_000
    assert verify(svc.db).ok


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_partial_refunds_never_exceed_the_original(svc, make_customer, make_merchant, round_):
    svc.settings.refunds.auto_approve_monthly_cap = 10_000_000  # every request is paid at once if it can be
    customer = make_customer(balance=500_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 100_000, "p")

    results = race(*[(lambda i=i: svc.refunds.submit(customer, payment.reference, reason_code="wrong_amount",
                                                     idempotency_key=f"k{i}", amount=30_000)) for i in range(8)])

    assert all(isinstance(r, DomainError) or r.status in ("refunded", "rejected") for r in results), results
    refunded = svc.wallet.get_transaction(payment.reference).refunded_amount
    assert refunded <= 100_000 and refunded == 30_000 * sum(
        1 for r in results if not isinstance(r, Exception) and r.status == "refunded")
    assert svc.wallet.summary(customer).balance == 400_000 + refunded
    with svc.db.read() as s:
        paid = s.scalar(select(func.coalesce(func.sum(RefundRequest.amount), 0)).where(
            RefundRequest.status == "refunded"))
    assert paid == refunded
    assert verify(svc.db).ok


def test_a_clawback_retried_at_once_happens_once(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "p")
    svc.wallet.credit_cashback(customer, 4_000, "cb", campaign="promo", original_reference=payment.reference)

    takes = race(*[(lambda: svc.wallet.claw_back_cashback(customer, 3_000, "claw-once",
                                                          original_reference=payment.reference))
                   for _ in range(10)])
    assert len({t.reference for t in takes}) == 1 and wallet_moves(svc, "clawback", payment.reference) == 1
    assert svc.wallet.summary(customer).balance == 61_000

    # Through the refund: its clawback (stored once per request) retried by ten runs at once
    run = svc.refunds.execution.run
    svc.refunds.execution.run = lambda request_id, resume=False: svc.refunds.get(request_id)
    request = svc.refunds.submit(customer, payment.reference, reason_code="duplicate_charge", idempotency_key="k1")
    svc.refunds.execution.run = run
    race(*[(lambda: svc.refunds.execution.run(request.id, resume=True)) for _ in range(10)])

    assert svc.refunds.get(request.id).status == "refunded"
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(RefundClawback)) == 1
    assert wallet_moves(svc, "clawback", payment.reference) == 2  # the one above and the refund's
    assert svc.wallet.summary(customer).balance == 61_000 + 40_000 - 4_000
    assert verify(svc.db).ok
