"""Idempotency keys belong to their caller: customer A using B's key neither gets B's result (or its
reference in a 409) nor blocks B, in the wallet (both payment paths: PostgreSQL's one-statement fast
path too) and in refund requests. The same caller reusing a key is still the first result or 409."""

from __future__ import annotations

import pytest

from gopaycare.platform.errors import IdempotencyConflict

from .conftest import PASSWORD, PIN, ledger_snapshot

A_PHONE, B_PHONE = "+6281234560001", "+6281234560002"


@pytest.fixture
def two(make_customer, make_merchant) -> tuple[int, int, int]:
    return (make_customer(phone=A_PHONE, balance=200_000), make_customer(phone=B_PHONE, balance=200_000),
            make_merchant())


def test_another_customers_key_is_a_new_payment_not_their_result(svc, two):
    a, b, merchant = two
    theirs = svc.payments.pay(b, merchant, 50_000, PIN, "shared-key")

    mine = svc.payments.pay(a, merchant, 20_000, PIN, "shared-key")

    assert mine.status == "succeeded" and mine.amount == 20_000 and mine.reference != theirs.reference
    assert svc.wallet.summary(a).balance == 180_000 and svc.wallet.summary(b).balance == 150_000
    assert svc.wallet.find_by_idempotency_key("shared-key", customer_id=a) == mine


def test_a_key_squatted_by_another_customer_does_not_block_its_owner(svc, two):
    a, b, merchant = two
    svc.payments.pay(a, merchant, 1_000, PIN, "b-will-use-this")  # A guessed B's next key

    b_payment = svc.payments.pay(b, merchant, 70_000, PIN, "b-will-use-this")

    assert b_payment.status == "succeeded" and b_payment.amount == 70_000
    assert svc.payments.pay(b, merchant, 70_000, PIN, "b-will-use-this") == b_payment  # B's retry: B's result


def test_the_same_caller_reusing_a_key_still_gets_the_first_result_or_409(svc, two):
    a, _, merchant = two
    first = svc.payments.pay(a, merchant, 10_000, PIN, "mine")
    before = ledger_snapshot(svc)

    assert svc.payments.pay(a, merchant, 10_000, PIN, "mine") == first
    with pytest.raises(IdempotencyConflict) as conflict:
        svc.payments.pay(a, merchant, 11_000, PIN, "mine")
    assert conflict.value.details["reference"] == first.reference  # their own transaction only
    assert ledger_snapshot(svc) == before


def test_topups_and_refunds_are_scoped_too(svc, two):
    a, b, merchant = two
    svc.wallet.topup(b, 10_000, "card", "topup-key")
    assert svc.wallet.topup(a, 5_000, "card", "topup-key").amount == 5_000

    paid_a = svc.wallet.pay_merchant(a, merchant, 30_000, "pay-a")
    paid_b = svc.wallet.pay_merchant(b, merchant, 30_000, "pay-b")
    refund_b = svc.wallet.refund(paid_b.reference, 10_000, "refund-key")
    refund_a = svc.wallet.refund(paid_a.reference, 5_000, "refund-key")  # another wallet's refund: its own

    assert refund_a.reference != refund_b.reference and refund_a.amount == 5_000
    assert svc.wallet.refund(paid_a.reference, 5_000, "refund-key") == refund_a


def test_over_http_another_customers_key_neither_conflicts_nor_echoes(svc, two, client):
    a, b, merchant = two
    tokens = {who: client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD}).json()["token"]
              for who, phone in (("a", A_PHONE), ("b", B_PHONE))}

    def pay(who: str, amount: int):
        return client.post("/api/v1/me/payments", headers={"Authorization": f"Bearer {tokens[who]}",
                                                           "Idempotency-Key": "http-key"},
                           json={"merchant_id": merchant, "amount": amount, "pin": PIN})

    theirs = pay("b", 40_000)
    mine = pay("a", 15_000)

    assert theirs.status_code == mine.status_code == 200, mine.text
    assert theirs.json()["reference"] not in mine.text
    assert mine.json()["amount"] == 15_000


def test_refund_request_keys_are_per_customer(svc, two):
    a, b, merchant = two
    paid_a = svc.wallet.pay_merchant(a, merchant, 30_000, "pay-a")
    paid_b = svc.wallet.pay_merchant(b, merchant, 30_000, "pay-b")

    theirs = svc.refunds.submit(b, paid_b.reference, reason="never arrived", idempotency_key="rr-key")
    mine = svc.refunds.submit(a, paid_a.reference, reason="wrong item", idempotency_key="rr-key")

    assert mine.id != theirs.id and mine.transaction_reference == paid_a.reference
    assert svc.refunds.submit(a, paid_a.reference, reason="wrong item", idempotency_key="rr-key") == mine
