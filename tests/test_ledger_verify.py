"""`ledger verify` finds broken invariants, and the journal refuses to be rewritten."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gopaycare.wallet.verify import verify


@pytest.fixture
def busy_ledger(svc, make_customer, make_merchant):
    a = make_customer(tier="plus", balance=1_000_000)
    b = make_customer(balance=100_000)
    merchant = make_merchant()
    pay = svc.wallet.pay_merchant(a, merchant, 200_000, "v-1")
    svc.wallet.refund(pay.reference, 50_000, "v-2")
    svc.wallet.transfer(a, b, 30_000, "v-3")
    svc.wallet.withdraw(a, 100_000, "1234567890", "v-4")
    pending = svc.wallet.pay_merchant(b, merchant, 10_000, "v-5", via_provider=True)
    svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")
    svc.wallet.pay_merchant(b, merchant, 1_000_000, "v-6")  # declined
    return a, b


def test_a_busy_ledger_verifies(svc, busy_ledger):
    report = verify(svc.db)
    assert report.ok, report.violations
    assert report.counts["wallet_transactions"] == 8  # 2 set-up top-ups + 6 operations


def _execute(svc, sql: str) -> None:
    with svc.db.engine.begin() as conn:
        conn.execute(text(sql))


def test_a_tampered_balance_is_reported(svc, busy_ledger):
    a, _ = busy_ledger
    _execute(svc, f"UPDATE ledger_accounts SET balance = balance + 1 WHERE customer_id = {a}")

    report = verify(svc.db)

    assert set(report.violations) == {"cached_balance_matches_entries"}
    row = report.violations["cached_balance_matches_entries"][0]
    assert row["balance"] - row["from_entries"] == 1


def test_a_refund_counter_out_of_step_is_reported(svc, busy_ledger):
    _execute(svc, "UPDATE wallet_transactions SET refunded_amount = 0 WHERE kind = 'payment' AND refunded_amount > 0")
    assert set(verify(svc.db).violations) == {"refunds_within_original"}


def test_a_declined_transaction_with_money_is_reported(svc, busy_ledger):
    _execute(svc, "UPDATE wallet_transactions SET status = 'failed' WHERE kind = 'p2p'")
    assert "status_matches_money" in verify(svc.db).violations


@pytest.mark.parametrize("statement", ["UPDATE ledger_transfers SET amount = amount + 1",
                                       "DELETE FROM ledger_transfers",
                                       "UPDATE audit_log SET action = 'x'",
                                       "DELETE FROM audit_log"])
def test_journal_and_audit_log_are_append_only(svc, busy_ledger, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        _execute(svc, statement)
    assert verify(svc.db).ok
