"""Payment providers' callbacks (POST /webhooks/payments/{provider}): Midtrans and Stripe formats with
their real signatures; a pending payment or top-up settles once however often and however concurrently
the provider delivers; a bad signature is 401 and changes nothing; ledger verify passes after each."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from gopaycare.callbacks.providers import midtrans_event, midtrans_signature, stripe_signature
from gopaycare.disputes.verify import CHECKS as DISPUTE_CHECKS
from gopaycare.wallet.verify import verify
from tests.conftest import ledger_snapshot
from tests.helpers import race

SERVER_KEY = "SB-Mid-server-TEST-KEY-123"
WHSEC = "whsec_test_secret_0123456789"


@pytest.fixture(autouse=True)
def secrets(svc):
    svc.settings.midtrans_server_key = SERVER_KEY
    svc.settings.stripe_webhook_secret = WHSEC


@pytest.fixture
def paid(svc):
    """The customers and references the cashback hand-off was called with."""
    calls: list[tuple[int, str]] = []
    svc.payment_callbacks.on_paid = lambda customer_id, reference: calls.append((customer_id, reference))
    return calls


def ledger_ok(svc) -> None:
    report = verify(svc.db, extra=DISPUTE_CHECKS)
    assert report.ok, report.violations


def midtrans(reference: str, amount: int, status: str = "settlement", *, key: str = SERVER_KEY,
             transaction_id: str = "9aed5972-5b6a-401e-894b-a32c91ed1a3a", **extra) -> bytes:
    gross = f"{amount}.00"
    code = {"settlement": "200", "capture": "200", "pending": "201"}.get(status, "202")
    body = {"transaction_time": "2026-11-25 10:00:00", "transaction_status": status,
            "transaction_id": transaction_id, "status_message": "midtrans payment notification",
            "status_code": code, "signature_key": midtrans_signature(reference, code, gross, key),
            "payment_type": "gopay", "order_id": reference, "merchant_id": "G141532850", "gross_amount": gross,
            "fraud_status": "accept", "currency": "IDR", **extra}
    return json.dumps(body).encode()


def stripe(reference: str | None, amount: int, kind: str = "payment_intent.succeeded", *,
           event_id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy") -> bytes:
    obj = {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent", "amount": amount * 100,
           "amount_received": amount * 100 if kind.endswith("succeeded") else 0, "currency": "idr",
           "metadata": {"reference": reference} if reference else {}, "status": "succeeded"}
    return json.dumps({"id": event_id, "object": "event", "api_version": "2024-06-20", "created": 1680064028,
                       "type": kind, "data": {"object": obj}, "livemode": False}).encode()


def stripe_header(raw: bytes, svc, *, secret: str = WHSEC, skew: int = 0) -> dict[str, str]:
    t = int(svc.clock.now().timestamp()) + skew
    return {"Stripe-Signature": f"t={t},v1={stripe_signature(t, raw, secret)},v0=deadbeef",
            "content-type": "application/json"}


def post_midtrans(client, raw: bytes):
    return client.post("/webhooks/payments/midtrans", content=raw, headers={"content-type": "application/json"})


def callbacks(svc) -> list[tuple]:
    with svc.db.read() as s:
        return s.execute(text("SELECT provider, event_id, result, deliveries, settles_reference "
                              "FROM payment_callbacks ORDER BY id")).all()


@pytest.fixture
def pending_payment(svc, make_customer, make_merchant):
    customer = make_customer(balance=500_000)
    merchant = make_merchant()
    payment = svc.wallet.pay_merchant(customer, merchant, 150_000, "online-1", channel="online", via_provider=True)
    assert payment.status == "pending"
    return customer, merchant, payment


def test_a_midtrans_settlement_settles_a_pending_payment_and_hands_it_to_the_cashback_award(
        svc, client, pending_payment, paid):
    customer, _, payment = pending_payment

    response = post_midtrans(client, midtrans(payment.reference, 150_000))

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "result": "applied", "duplicate": False}
    assert svc.wallet.get_transaction(payment.reference).status == "succeeded"
    assert paid == [(customer, payment.reference)]
    again = post_midtrans(client, midtrans(payment.reference, 150_000))
    assert again.json() == {"received": True, "result": "applied", "duplicate": True}
    assert paid == [(customer, payment.reference)]
    assert callbacks(svc) == [("midtrans", "9aed5972-5b6a-401e-894b-a32c91ed1a3a:settlement", "applied", 2,
                               payment.reference)]
    ledger_ok(svc)


@pytest.mark.parametrize("round_", range(3))
def test_one_callback_delivered_ten_times_at_once_settles_once(svc, pending_payment, paid, round_):
    customer, _, payment = pending_payment
    raw = midtrans(payment.reference, 150_000)

    results = race(*[lambda: svc.payment_callbacks.take(midtrans_event(raw, SERVER_KEY)) for _ in range(10)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted((r.result, r.duplicate) for r in results) == [("applied", False)] + [("applied", True)] * 9
    assert paid == [(customer, payment.reference)]
    assert callbacks(svc) == [("midtrans", "9aed5972-5b6a-401e-894b-a32c91ed1a3a:settlement", "applied", 10,
                               payment.reference)]
    with svc.db.read() as s:
        transfers = s.execute(text("SELECT COUNT(*) FROM ledger_transfers t JOIN wallet_transactions w "
                                   "ON w.id = t.transaction_id WHERE w.reference = :r"),
                              {"r": payment.reference}).scalar_one()
    assert transfers == 2  # the debit into suspense, and suspense to the merchant once
    ledger_ok(svc)


@pytest.mark.parametrize("round_", range(2))
def test_two_events_about_one_payment_settle_it_once(svc, client, pending_payment, paid, round_):
    _, _, payment = pending_payment

    results = race(lambda: svc.payment_callbacks.take(midtrans_event(
                       midtrans(payment.reference, 150_000, "capture", transaction_id="t-1"), SERVER_KEY)),
                   lambda: svc.payment_callbacks.take(midtrans_event(
                       midtrans(payment.reference, 150_000, "settlement", transaction_id="t-1"), SERVER_KEY)))

    assert sorted(r.result for r in results) == ["already_final", "applied"]
    assert len(paid) == 1
    ledger_ok(svc)


def test_stripe_events_settle_and_fail_pending_top_ups(svc, client, make_customer, paid):
    customer = make_customer()
    credited = svc.wallet.topup(customer, 200_000, "bank_transfer", "va-1", pending=True)
    refused = svc.wallet.topup(customer, 50_000, "card", "card-1", pending=True)

    raw = stripe(credited.reference, 200_000, event_id="evt_ok")
    ok = client.post("/webhooks/payments/stripe", content=raw, headers=stripe_header(raw, svc))
    raw = stripe(refused.reference, 50_000, "payment_intent.payment_failed", event_id="evt_failed")
    failed = client.post("/webhooks/payments/stripe", content=raw, headers=stripe_header(raw, svc))

    assert (ok.status_code, ok.json()["result"], failed.json()["result"]) == (200, "applied", "applied")
    assert svc.wallet.summary(customer).balance == 200_000
    assert svc.wallet.get_transaction(refused.reference).status == "failed"
    assert svc.wallet.get_transaction(refused.reference).failure_reason == "BANK_REJECTED"
    assert paid == []  # a top-up earns no cashback
    ledger_ok(svc)


def test_bad_signatures_are_401_and_change_nothing(svc, client, pending_payment, paid):
    _, _, payment = pending_payment
    before = ledger_snapshot(svc)
    raw = stripe(payment.reference, 150_000)
    tampered = raw.replace(b"150000", b"150001")

    answers = [
        post_midtrans(client, midtrans(payment.reference, 150_000, key="another-server-key")),
        post_midtrans(client, json.dumps({"order_id": payment.reference, "transaction_status": "settlement"})
                      .encode()),
        client.post("/webhooks/payments/stripe", content=raw,
                    headers=stripe_header(raw, svc, secret="whsec_someone_else")),
        client.post("/webhooks/payments/stripe", content=tampered, headers=stripe_header(raw, svc)),
        client.post("/webhooks/payments/stripe", content=raw, headers=stripe_header(raw, svc, skew=-301)),
        client.post("/webhooks/payments/stripe", content=raw, headers={"content-type": "application/json"}),
        client.post("/webhooks/payments/stripe", content=raw, headers={"Stripe-Signature": "t=abc,v1="}),
    ]

    assert [a.status_code for a in answers] == [401] * 7, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers} <= {"signature_invalid", "signature_expired"}
    assert ledger_snapshot(svc) == before
    assert callbacks(svc) == [] and paid == []


def test_a_provider_without_its_secret_is_refused(svc, client, pending_payment):
    svc.settings.midtrans_server_key = None
    _, _, payment = pending_payment

    response = post_midtrans(client, midtrans(payment.reference, 150_000))

    assert response.status_code == 401
    assert svc.wallet.get_transaction(payment.reference).status == "pending"


def test_unknown_mismatched_and_already_final_payments_are_answered_and_recorded_never_applied(
        svc, client, pending_payment, make_customer, paid):
    _, _, payment = pending_payment
    unknown = post_midtrans(client, midtrans("GP261125NOSUCH0001", 150_000, transaction_id="t-unknown"))
    wrong_amount = post_midtrans(client, midtrans(payment.reference, 140_000, transaction_id="t-wrong"))
    before = ledger_snapshot(svc)
    svc.wallet.complete(payment.reference, succeeded=True)
    internal = ledger_snapshot(svc)
    late = post_midtrans(client, midtrans(payment.reference, 150_000, transaction_id="t-late"))
    pending_status = post_midtrans(client, midtrans(payment.reference, 150_000, "pending", transaction_id="t-p"))
    topup = svc.wallet.topup(make_customer(), 5_000, "card", "plain-1")  # never pending: settled already
    settled = ledger_snapshot(svc)
    plain = post_midtrans(client, midtrans(topup.reference, 5_000, transaction_id="t-plain"))

    assert [r.status_code for r in (unknown, wrong_amount, late, pending_status, plain)] == [200] * 5
    assert [r.json()["result"] for r in (unknown, wrong_amount, late, pending_status, plain)] == \
        ["unknown_payment", "amount_mismatch", "already_final", "ignored", "already_final"]
    assert before != internal  # the internal completion moved the money; no callback moved any
    assert ledger_snapshot(svc) == settled
    assert paid == []
    assert [c[2] for c in callbacks(svc)] == ["unknown_payment", "amount_mismatch", "already_final", "ignored",
                                             "already_final"]
    ledger_ok(svc)


def test_hostile_callbacks_are_4xx_never_5xx(svc, client, pending_payment):
    _, _, payment = pending_payment
    before = ledger_snapshot(svc)
    nul = midtrans(payment.reference, 150_000, transaction_id="t\x00nul")
    huge = midtrans(payment.reference, 150_000, transaction_id="x" * 5000)
    raw_bad = b"{not json"
    bad_types = json.dumps({"id": 12, "type": ["x"], "data": "no"}).encode()
    huge_amount = stripe(payment.reference, 10**30, event_id="evt_huge")
    answers = [
        client.post("/webhooks/payments/paypal", content=b"{}"),
        client.post("/webhooks/payments/" + "m" * 300, content=b"{}"),
        post_midtrans(client, nul),
        post_midtrans(client, huge),
        post_midtrans(client, raw_bad),
        client.post("/webhooks/payments/stripe", content=raw_bad, headers=stripe_header(raw_bad, svc)),
        client.post("/webhooks/payments/stripe", content=bad_types, headers=stripe_header(bad_types, svc)),
        client.post("/webhooks/payments/stripe", content=huge_amount, headers=stripe_header(huge_amount, svc)),
        client.post("/webhooks/payments/stripe", content=b"x" * (2 * 1024 * 1024),
                    headers={"Stripe-Signature": "t=1,v1=00"}),
    ]

    codes = [a.status_code for a in answers]
    assert all(400 <= c < 500 for c in codes), codes
    assert codes[:2] == [404, 404] or codes[1] == 422
    assert ledger_snapshot(svc) == before
    assert callbacks(svc) == []


def test_the_stripe_tolerance_is_a_setting(svc, client, pending_payment):
    _, _, payment = pending_payment
    svc.settings.stripe_tolerance_seconds = 600
    raw = stripe(payment.reference, 150_000)

    response = client.post("/webhooks/payments/stripe", content=raw, headers=stripe_header(raw, svc, skew=-500))

    assert response.json()["result"] == "applied"


def test_a_confirmed_top_up_the_wallet_cannot_hold_is_applied_as_failed_once(svc, client, make_customer, paid):
    customer = make_customer(balance=1_900_000)  # basic: the cap is 2.000.000
    topup = svc.wallet.topup(customer, 200_000, "bank_transfer", "va-cap", pending=True)
    raw = midtrans(topup.reference, 200_000, transaction_id="t-cap")

    results = race(*[lambda: svc.payment_callbacks.take(midtrans_event(raw, SERVER_KEY)) for _ in range(4)])

    assert sorted((r.result, r.transaction_status, r.duplicate) for r in results) == \
        [("applied", "failed", False)] + [("applied", "failed", True)] * 3
    assert svc.wallet.get_transaction(topup.reference).failure_reason == "BALANCE_CAP_EXCEEDED"
    assert svc.wallet.summary(customer).balance == 1_900_000
    ledger_ok(svc)
