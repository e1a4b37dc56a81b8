"""Every wallet operation, with exact amounts, and nothing changed on a rejection."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.errors import Conflict, IdempotencyConflict, NotFound, ValidationFailed
from gopaycare.wallet.models import LedgerAccount
from gopaycare.wallet.verify import verify
from tests.conftest import ledger_snapshot

SUPPORT = Actor.agent(7)
REASON = "provider timed out after the debit"


def test_topup_credits_wallet_from_float(svc, make_customer):
    # Given a new basic customer
    customer = make_customer()
    # When they top up Rp 250.000 by bank transfer
    txn = svc.wallet.topup(customer, 250_000, "bank_transfer", "t-1")
    # Then the wallet holds exactly that, and the transaction says how it came
    assert (txn.kind, txn.status, txn.amount, txn.method, txn.direction) == ("topup", "succeeded", 250_000,
                                                                              "bank_transfer", "in")
    assert svc.wallet.summary(customer).balance == 250_000
    assert txn.reference.startswith("GP261125")
    assert verify(svc.db).ok


@pytest.mark.parametrize("method", ["bank_transfer", "card", "convenience_store"])
def test_each_topup_method_is_accepted(svc, make_customer, method):
    customer = make_customer()
    assert svc.wallet.topup(customer, 10_000, method, f"k-{method}").method == method


def test_merchant_payment_moves_money_to_merchant(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant("Bakso Pak Kumis")

    txn = svc.wallet.pay_merchant(customer, merchant, 35_000, "p-1")

    assert (txn.status, txn.amount, txn.merchant_name, txn.method) == ("succeeded", 35_000, "Bakso Pak Kumis", "qr")
    summary = svc.wallet.summary(customer)
    assert summary.balance == 65_000
    assert summary.daily_outgoing.used == 35_000
    assert verify(svc.db).ok


def test_insufficient_balance_says_balance_and_shortfall(svc, make_customer, make_merchant):
    customer = make_customer(balance=50_000)
    merchant = make_merchant()
    before = svc.wallet.summary(customer)

    txn = svc.wallet.pay_merchant(customer, merchant, 150_000, "p-short")

    assert txn.status == "failed"
    assert txn.failure_reason == "INSUFFICIENT_BALANCE"
    assert txn.failure_details == {"balance": 50_000, "amount": 150_000, "shortfall": 100_000}
    assert svc.wallet.summary(customer) == before
    assert verify(svc.db).ok


def test_unavailable_merchant_is_declined_and_recorded(svc, make_customer, make_merchant):
    customer = make_customer(balance=50_000)
    merchant = make_merchant(status="unavailable")
    before = ledger_snapshot(svc)

    txn = svc.wallet.pay_merchant(customer, merchant, 10_000, "p-closed")

    assert (txn.status, txn.failure_reason) == ("failed", "MERCHANT_UNAVAILABLE")
    after = ledger_snapshot(svc)
    assert after["accounts"] == before["accounts"]
    assert after["transfers"] == before["transfers"]


def test_risk_rule_declines_large_single_payment(svc, make_customer, make_merchant):
    customer = make_customer(tier="plus", balance=15_000_000)
    merchant = make_merchant()

    txn = svc.wallet.pay_merchant(customer, merchant, 10_000_001, "p-risky")

    assert txn.failure_reason == "RISK_DECLINED"
    assert txn.failure_details == {"rule": "max_single_payment", "limit": 10_000_000, "amount": 10_000_001}
    assert svc.wallet.summary(customer).balance == 15_000_000


def test_frozen_account_cannot_pay_but_receives(svc, make_customer, make_merchant):
    customer = make_customer(balance=80_000)
    merchant = make_merchant()
    svc.wallet.set_restrictions(customer, frozen=True)

    paid = svc.wallet.pay_merchant(customer, merchant, 10_000, "p-frozen")
    topped = svc.wallet.topup(customer, 5_000, "card", "t-frozen")

    assert (paid.status, paid.failure_reason) == ("failed", "ACCOUNT_FROZEN")
    assert topped.status == "succeeded"
    assert svc.wallet.summary(customer).balance == 85_000


def test_locked_account_cannot_pay(svc, make_customer, make_merchant):
    customer = make_customer(balance=80_000)
    svc.wallet.set_restrictions(customer, locked=True)

    txn = svc.wallet.pay_merchant(customer, make_merchant(), 10_000, "p-locked")

    assert txn.failure_reason == "ACCOUNT_LOCKED"
    assert svc.wallet.summary(customer).balance == 80_000


def test_online_payment_via_provider_waits_in_suspense_then_settles(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()

    pending = svc.wallet.pay_merchant(customer, merchant, 40_000, "p-online", channel="online", via_provider=True)
    assert pending.status == "pending"
    assert svc.wallet.summary(customer).balance == 60_000
    assert verify(svc.db).ok

    done = svc.wallet.complete(pending.reference, succeeded=True)
    again = svc.wallet.complete(pending.reference, succeeded=True)

    assert done.status == again.status == "succeeded"
    assert verify(svc.db).ok
    with pytest.raises(Conflict) as exc:
        svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")
    assert exc.value.code == "not_pending"


def test_provider_timeout_then_reversal_gives_money_and_limit_back(svc, make_customer, make_merchant):
    # Given a payment that was debited, then failed at the provider
    customer = make_customer(balance=100_000)
    pending = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "p-timeout", channel="online",
                                      via_provider=True)
    failed = svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")
    assert (failed.status, failed.failure_reason) == ("failed", "PROVIDER_TIMEOUT")
    assert svc.wallet.summary(customer).balance == 60_000  # debited but failed
    assert verify(svc.db).ok

    # When it is reversed (twice, with the same key)
    reversal = svc.wallet.reverse(pending.reference, "rev-1", actor=SUPPORT, reason=REASON)
    repeat = svc.wallet.reverse(pending.reference, "rev-1", actor=SUPPORT, reason=REASON)

    # Then the money is back once, today's limit is given back, and the payment says reversed
    assert reversal == repeat
    assert (reversal.kind, reversal.amount, reversal.original_reference) == ("reversal", 40_000, pending.reference)
    summary = svc.wallet.summary(customer)
    assert summary.balance == 100_000
    assert summary.daily_outgoing.used == 0
    assert svc.wallet.get_transaction(pending.reference).status == "reversed"
    assert verify(svc.db).ok
    # A second reversal under a new key is refused and changes nothing
    before = ledger_snapshot(svc)
    with pytest.raises(Conflict) as exc:
        svc.wallet.reverse(pending.reference, "rev-2", actor=SUPPORT, reason=REASON)
    assert exc.value.code == "not_reversible"
    assert ledger_snapshot(svc) == before


def test_a_reversal_is_audited_once_with_its_actor_and_reason(svc, make_customer, make_merchant):
    # Given a payment debited, then failed at the provider
    customer = make_customer(balance=100_000)
    pending = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "p-audit", channel="online",
                                      via_provider=True)
    svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")

    # When an agent reverses it, and the request is retried
    reversal = svc.wallet.reverse(pending.reference, "rev-a", actor=SUPPORT, reason=f"  {REASON} ")
    svc.wallet.reverse(pending.reference, "rev-a", actor=SUPPORT, reason=REASON)

    # Then one audit row says who gave how much back, and why
    with svc.db.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "wallet.reversed")).all()
    assert [(e.action, e.actor_type, e.actor_id, e.subject_type, e.subject_id, e.reason, e.details)
            for e in entries] == [
        ("wallet.reversed", "agent", "7", "transaction", pending.reference, REASON,
         {"reversal": reversal.reference, "amount": 40_000}),
    ]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_reversal_without_a_reason_is_refused_and_changes_nothing(svc, make_customer, make_merchant, reason):
    # Given a payment whose money waits in suspense
    customer = make_customer(balance=100_000)
    pending = svc.wallet.pay_merchant(customer, make_merchant(), 40_000, "p-noreason", channel="online",
                                      via_provider=True)
    svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")
    before = ledger_snapshot(svc)

    # When it is reversed without saying why
    with pytest.raises(ValidationFailed) as exc:
        svc.wallet.reverse(pending.reference, "rev-n", actor=SUPPORT, reason=reason)

    # Then nothing changed: no money back, no audit row, and the key is still free
    assert exc.value.details == {"field": "reason"}
    assert ledger_snapshot(svc) == before
    assert svc.wallet.summary(customer).balance == 60_000
    with svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "wallet.reversed")).scalar_one() == 0
    assert svc.wallet.reverse(pending.reference, "rev-n", actor=SUPPORT, reason=REASON).amount == 40_000


def test_opening_a_wallet_twice_returns_the_first_one(svc, make_customer):
    # Given a customer whose Plus wallet has money
    customer = make_customer(tier="plus", balance=25_000)
    first = svc.wallet.summary(customer)

    # When the wallet is opened again (a retried registration), even with other arguments
    again = svc.wallet.open_wallet(customer, "plus")
    other = svc.wallet.open_wallet(customer, "basic", frozen=True)

    # Then it is the same wallet, unchanged, and there is still one
    assert again == other == first
    with svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(LedgerAccount)
                         .where(LedgerAccount.customer_id == customer)).scalar_one() == 1


def test_a_wallet_can_open_locked_and_frozen(svc):
    summary = svc.wallet.open_wallet(9001, "basic", locked=True, frozen=True)

    assert (summary.customer_id, summary.tier, summary.balance, summary.locked, summary.frozen) == (
        9001, "basic", 0, True, True)


def test_declined_payment_cannot_be_reversed(svc, make_customer, make_merchant):
    customer = make_customer(balance=10_000)
    declined = svc.wallet.pay_merchant(customer, make_merchant(), 20_000, "p-declined")
    before = ledger_snapshot(svc)

    with pytest.raises(Conflict):
        svc.wallet.reverse(declined.reference, "rev-x", actor=SUPPORT, reason=REASON)

    assert ledger_snapshot(svc) == before


def test_p2p_needs_plus_and_moves_between_wallets(svc, make_customer):
    sender = make_customer(tier="plus", balance=300_000)
    basic = make_customer(balance=300_000)
    friend = make_customer()

    sent = svc.wallet.transfer(sender, friend, 120_000, "x-1")
    refused = svc.wallet.transfer(basic, friend, 10_000, "x-2")

    assert sent.status == "succeeded"
    assert (refused.failure_reason, refused.failure_details) == (
        "KYC_UPGRADE_REQUIRED", {"required_tier": "plus", "tier": "basic"})
    assert svc.wallet.summary(sender).balance == 180_000
    assert svc.wallet.summary(friend).balance == 120_000
    assert svc.wallet.summary(friend).monthly_incoming.used == 120_000
    assert svc.wallet.summary(basic).balance == 300_000
    # Both see it, each from their side
    assert svc.wallet.list_transactions(friend)[0].direction == "in"
    assert svc.wallet.list_transactions(sender)[0].direction == "out"
    assert verify(svc.db).ok


def test_p2p_to_a_full_wallet_is_declined_for_the_recipient(svc, make_customer):
    sender = make_customer(tier="plus", balance=1_000_000)
    recipient = make_customer(balance=1_900_000)  # basic cap Rp 2.000.000
    before = ledger_snapshot(svc)

    txn = svc.wallet.transfer(sender, recipient, 200_000, "x-full")

    assert txn.failure_reason == "BALANCE_CAP_EXCEEDED"
    assert txn.failure_details == {"party": "recipient", "cap": 2_000_000, "balance": 1_900_000,
                                   "amount": 200_000, "room": 100_000}
    after = ledger_snapshot(svc)
    assert after["accounts"] == before["accounts"]
    assert after["transfers"] == before["transfers"]


def test_transfer_to_yourself_is_invalid(svc, make_customer):
    customer = make_customer(tier="plus", balance=10_000)
    with pytest.raises(ValidationFailed):
        svc.wallet.transfer(customer, customer, 1_000, "x-self")


def test_withdrawal_pending_then_settled_with_fee(svc, make_customer):
    customer = make_customer(tier="plus", balance=1_000_000)

    txn = svc.wallet.withdraw(customer, 500_000, "BCA 123-456-7890", "w-1")

    assert (txn.status, txn.amount, txn.description) == ("pending", 500_000, "bank account ****7890, fee 2500")
    assert svc.wallet.summary(customer).balance == 497_500
    assert svc.wallet.summary(customer).daily_outgoing.used == 502_500
    assert verify(svc.db).ok
    assert svc.wallet.complete(txn.reference, succeeded=True).status == "succeeded"
    assert svc.wallet.summary(customer).balance == 497_500
    assert verify(svc.db).ok


def test_failed_withdrawal_returns_amount_and_fee(svc, make_customer):
    customer = make_customer(tier="plus", balance=1_000_000)
    txn = svc.wallet.withdraw(customer, 500_000, "1234567890", "w-2")

    failed = svc.wallet.complete(txn.reference, succeeded=False, failure_reason="BANK_REJECTED")

    assert (failed.status, failed.failure_reason) == ("failed", "BANK_REJECTED")
    assert svc.wallet.summary(customer).balance == 1_000_000
    assert verify(svc.db).ok


def test_basic_customer_cannot_withdraw(svc, make_customer):
    customer = make_customer(balance=100_000)
    txn = svc.wallet.withdraw(customer, 50_000, "1234567890", "w-basic")
    assert txn.failure_reason == "KYC_UPGRADE_REQUIRED"
    assert svc.wallet.summary(customer).balance == 100_000


def test_partial_then_full_refund_never_exceeds_original(svc, make_customer, make_merchant):
    customer = make_customer(balance=500_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 300_000, "p-refund")

    first = svc.wallet.refund(payment.reference, 100_000, "r-1", reason="one item missing")
    second = svc.wallet.refund(payment.reference, 200_000, "r-2")

    assert (first.kind, first.status, first.original_reference, first.description) == (
        "refund", "succeeded", payment.reference, "one item missing")
    assert second.status == "succeeded"
    original = svc.wallet.get_transaction(payment.reference)
    assert (original.refunded_amount, original.refundable_amount) == (300_000, 0)
    assert svc.wallet.summary(customer).balance == 500_000
    # A third refund is refused and changes nothing
    before = ledger_snapshot(svc)
    with pytest.raises(Conflict) as exc:
        svc.wallet.refund(payment.reference, 1, "r-3")
    assert exc.value.code == "refund_exceeds_original"
    assert exc.value.details == {"amount": 1, "refundable": 0}
    assert ledger_snapshot(svc) == before
    assert verify(svc.db).ok


def test_refund_of_a_failed_payment_or_a_topup_is_refused(svc, make_customer, make_merchant):
    customer = make_customer(balance=10_000)
    declined = svc.wallet.pay_merchant(customer, make_merchant(), 20_000, "p-f")
    topup = svc.wallet.list_transactions(customer, status="succeeded")[0]
    before = ledger_snapshot(svc)

    for ref in (declined.reference, topup.reference):
        with pytest.raises(Conflict) as exc:
            svc.wallet.refund(ref, 1_000, f"r-{ref}")
        assert exc.value.code == "not_refundable"
    with pytest.raises(NotFound):
        svc.wallet.refund("GP000000NOPE", 1_000, "r-missing")
    assert ledger_snapshot(svc) == before


def test_cashback_credit_and_cap(svc, make_customer, make_merchant):
    customer = make_customer(balance=1_990_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 20_000, "p-cb")

    ok = svc.wallet.credit_cashback(customer, 2_000, "cb-1", campaign="JAJAN10", original_reference=payment.reference)
    capped = svc.wallet.credit_cashback(customer, 50_000, "cb-2", campaign="JAJAN10")

    assert (ok.status, ok.description, ok.original_reference) == ("succeeded", "JAJAN10", payment.reference)
    assert capped.failure_reason == "BALANCE_CAP_EXCEEDED"
    summary = svc.wallet.summary(customer)
    assert summary.balance == 1_972_000
    # Cashback is not a top-up: it does not use the monthly incoming allowance
    assert summary.monthly_incoming.used == 1_990_000
    assert verify(svc.db).ok


def test_pending_topup_is_credited_on_confirmation(svc, make_customer, clock):
    customer = make_customer()
    pending = svc.wallet.topup(customer, 300_000, "bank_transfer", "t-pend", pending=True)
    assert pending.status == "pending"
    assert svc.wallet.summary(customer).balance == 0

    clock.advance(minutes=31)
    overdue = svc.wallet.overdue_pending()
    assert [t.reference for t in overdue] == [pending.reference]
    assert overdue[0].pending_too_long is True

    done = svc.wallet.complete(pending.reference, succeeded=True)
    assert done.status == "succeeded"
    assert svc.wallet.summary(customer).balance == 300_000
    assert svc.wallet.overdue_pending() == []
    assert verify(svc.db).ok


def test_confirmed_topup_over_the_cap_fails_without_crediting(svc, make_customer):
    customer = make_customer(balance=1_900_000)
    pending = svc.wallet.topup(customer, 300_000, "bank_transfer", "t-over", pending=True)

    done = svc.wallet.complete(pending.reference, succeeded=True)

    assert (done.status, done.failure_reason) == ("failed", "BALANCE_CAP_EXCEEDED")
    assert svc.wallet.summary(customer).balance == 1_900_000
    assert verify(svc.db).ok


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100"])
def test_invalid_amounts_change_nothing(svc, make_customer, make_merchant, amount):
    customer = make_customer(balance=10_000)
    merchant = make_merchant()
    before = ledger_snapshot(svc)

    with pytest.raises(ValidationFailed):
        svc.wallet.pay_merchant(customer, merchant, amount, "p-bad")

    assert ledger_snapshot(svc) == before


def test_unknown_customer_or_merchant_is_not_found(svc, make_customer, make_merchant):
    customer = make_customer(balance=10_000)
    before = ledger_snapshot(svc)
    with pytest.raises(NotFound):
        svc.wallet.pay_merchant(customer, 99_999, 1_000, "p-nomerchant")
    with pytest.raises(NotFound):
        svc.wallet.pay_merchant(99_999, make_merchant(), 1_000, "p-nocustomer")
    with pytest.raises(NotFound):
        svc.wallet.summary(99_999)
    assert ledger_snapshot(svc)["transactions"] == before["transactions"]


def test_a_declined_payment_is_stored_as_that_payment(svc, make_customer, make_merchant):
    customer = make_customer(balance=10_000)
    merchant = make_merchant()
    txn = svc.wallet.decline_payment(customer, merchant, 5_000, "d-1", reason="PIN_INVALID",
                                     details={"attempts_left": 4})

    assert (txn.status, txn.failure_reason, txn.failure_details, txn.merchant_id) == (
        "failed", "PIN_INVALID", {"attempts_left": 4}, merchant)
    # A retry of the same payment with the same key returns the decline and moves nothing
    assert svc.wallet.pay_merchant(customer, merchant, 5_000, "d-1") == txn
    assert svc.wallet.summary(customer).balance == 10_000
    with pytest.raises(IdempotencyConflict):
        svc.wallet.pay_merchant(customer, merchant, 6_000, "d-1")
    with pytest.raises(ValidationFailed):
        svc.wallet.decline_payment(customer, merchant, 5_000, "d-2", reason="NOT_A_REASON")


def test_history_is_newest_first_and_paginates(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()
    refs = [svc.wallet.pay_merchant(customer, merchant, 1_000 + i, f"h-{i}").reference for i in range(5)]

    page1 = svc.wallet.list_transactions(customer, limit=3)
    page2 = svc.wallet.list_transactions(customer, limit=3, before=page1[-1].reference)

    assert [t.reference for t in page1] == refs[::-1][:3]
    assert [t.reference for t in page2] == refs[::-1][3:] + [svc.wallet.list_transactions(customer)[-1].reference]
    assert [t.amount for t in svc.wallet.list_transactions(customer, status="succeeded", limit=2)] == [1_004, 1_003]
