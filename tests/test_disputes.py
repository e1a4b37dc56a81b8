"""Disputes end to end through the API: open with evidence and files, the merchant's answer, review,
a decision; provisional credit granted once and taken back once (also under racing decisions, and
when the customer already spent it); a customer reaches only their own cases; hostile input is 4xx
and changes nothing; ledger verify passes after every scenario."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gopaycare.disputes.policy import DisputePolicy
from gopaycare.disputes.verify import CHECKS as DISPUTE_CHECKS
from gopaycare.platform.errors import Conflict
from gopaycare.wallet.verify import verify
from tests.conftest import PASSWORD, ledger_snapshot
from tests.helpers import race

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def ledger_ok(svc) -> None:
    report = verify(svc.db, extra=DISPUTE_CHECKS)
    assert report.ok, report.violations


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def provisional(svc):
    svc.disputes.policy = DisputePolicy(provisional_credit=True)
    svc.disputes.money.wallet = svc.wallet


@pytest.fixture
def agents(svc):
    made = {}
    for email, role in (("lead@gopay.test", "supervisor"), ("ayu@gopay.test", "agent")):
        svc.agents.create(email, role, password="Agent-pass1")
        made[email.split("@")[0]] = bearer(svc.agents.create_token(email))
    return made


@pytest.fixture
def shopper(svc, client, make_customer, make_merchant):
    """A customer (balance 500.000) who paid a merchant 150.000, logged in; and their token."""
    phone = "+6281311112222"
    customer = make_customer(balance=500_000, phone=phone)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 150_000, "shop-1")
    token = client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD}).json()["token"]
    return customer, payment, bearer(token)


def open_case(client, headers, reference, *, key="dp-1", **fields):
    body = {"reference": reference, "reason": "not_delivered",
            "description": "Paid for shoes two weeks ago, nothing arrived",
            "evidence": [{"kind": "communication", "body": "Seller stopped answering on 12 Nov"},
                         {"kind": "receipt", "body": "Order #A-77 receipt"}], **fields}
    return client.post("/api/v1/me/disputes", json=body, headers={**headers, "Idempotency-Key": key})


def test_a_lost_dispute_gives_the_provisional_credit_back_once(svc, client, shopper, agents, provisional):
    customer, payment, me = shopper

    opened = open_case(client, me, payment.reference)

    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["status"], case["amount"], case["provisional_amount"], case["provisional_credited"]) == \
        ("needs_response", 150_000, 150_000, True)
    assert case["explanation"].startswith("Your dispute is open and waiting for the merchant to respond by 2026-12-05")
    assert [e["kind"] for e in case["evidence"]] == ["description", "communication", "receipt"]
    assert svc.wallet.summary(customer).balance == 350_000 + 150_000
    ticket = client.get(f"/api/v1/tickets/{case['ticket_id']}", headers=agents["lead"]).json()
    assert (ticket["area"], sorted(ticket["tags"])) == ("refund_dispute", ["dispute", "not_delivered"])
    ledger_ok(svc)

    answered = client.post(f"/api/v1/disputes/{case['id']}/merchant-response", headers=agents["ayu"],
                           json={"body": "Tracking JNE 0012345 shows delivered on 20 Nov"})
    assert answered.json()["status"] == "under_review"
    decided = client.post(f"/api/v1/disputes/{case['id']}/decision", headers=agents["lead"],
                          json={"outcome": "lost", "reason": "the courier's proof of delivery is signed"})

    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["provisional_taken_back"]) == ("lost", 150_000)
    assert svc.wallet.summary(customer).balance == 350_000
    mine = client.get(f"/api/v1/me/disputes/{case['id']}", headers=me).json()
    assert mine["explanation"].startswith("The dispute was reviewed and decided against you")
    assert svc.disputes.settle_all() == 0
    ledger_ok(svc)


def test_a_won_dispute_is_refunded_by_the_merchant_and_settles_the_provisional_credit(
        svc, client, shopper, agents, provisional):
    customer, payment, me = shopper
    case = open_case(client, me, payment.reference).json()
    client.post(f"/api/v1/disputes/{case['id']}/review", headers=agents["ayu"],
                json={"reason": "merchant did not answer by the due date"})

    won = client.post(f"/api/v1/disputes/{case['id']}/decision", headers=agents["lead"],
                      json={"outcome": "won", "reason": "no proof of delivery"}).json()

    assert (won["status"], won["refunded"], won["provisional_taken_back"]) == ("won", 150_000, 150_000)
    assert svc.wallet.summary(customer).balance == 500_000  # the refund replaced the provisional credit
    assert svc.wallet.get_transaction(payment.reference).refunded_amount == 150_000
    assert client.get("/api/v1/me/disputes", headers=me).json()[0]["explanation"].startswith(
        "The dispute was decided in your favour")
    ledger_ok(svc)


@pytest.mark.parametrize("round_", range(2))
def test_racing_decisions_decide_once_and_move_the_money_once(svc, shopper, agents, provisional, round_):
    customer, payment, _ = shopper
    case = svc.disputes.open(customer, payment.reference, reason="not_as_described", description="broken glass",
                             idempotency_key="race-open")
    svc.disputes.review(case.id, agent_id=1, reason="enough evidence")

    results = race(*[(lambda i=i: svc.disputes.decide(case.id, agent_id=1, outcome=("won", "lost")[i % 2],
                                                      reason=f"decision {i}")) for i in range(8)],
                   *[(lambda: svc.disputes.money.settle(case.id)) for _ in range(2)])

    decisions = [r for r in results[:8] if not isinstance(r, Exception)]
    refused = [r for r in results[:8] if isinstance(r, Exception)]
    assert len(decisions) == 1 and all(isinstance(r, Conflict) for r in refused), results
    assert not [r for r in results[8:] if isinstance(r, Exception)], results
    outcome = decisions[0].status
    with svc.db.read() as s:
        kinds = s.execute(text("SELECT kind, COUNT(*) FROM wallet_transactions WHERE kind IN "
                               "('dispute_credit', 'dispute_debit', 'refund') GROUP BY kind ORDER BY kind")).all()
    assert kinds == ([("dispute_credit", 1), ("dispute_debit", 1), ("refund", 1)] if outcome == "won"
                     else [("dispute_credit", 1), ("dispute_debit", 1)])
    assert svc.wallet.summary(customer).balance == (500_000 if outcome == "won" else 350_000)
    ledger_ok(svc)


def test_withdrawing_after_spending_the_credit_records_the_shortfall(svc, client, shopper, make_merchant,
                                                                     provisional):
    customer, payment, me = shopper
    case = open_case(client, me, payment.reference).json()
    svc.wallet.pay_merchant(customer, make_merchant("Toko Lain"), 450_000, "spend-it")  # 500.000 → 50.000

    withdrawn = client.post(f"/api/v1/me/disputes/{case['id']}/withdraw", headers=me).json()

    assert (withdrawn["status"], withdrawn["provisional_taken_back"], withdrawn["provisional_shortfall"]) == \
        ("withdrawn", 50_000, 100_000)
    assert svc.wallet.summary(customer).balance == 0
    again = client.post(f"/api/v1/me/disputes/{case['id']}/withdraw", headers=me)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "dispute_closed")
    ledger_ok(svc)


def test_an_unrecognised_charge_freezes_the_account_and_files_a_security_alert(svc, client, shopper, agents):
    customer, payment, me = shopper

    opened = open_case(client, me, payment.reference, reason="unrecognised_charge", freeze_account=True,
                       description="I never made this payment, my phone was stolen")

    assert opened.status_code == 201, opened.text
    assert opened.json()["froze_account"] is True and opened.json()["provisional_amount"] == 0  # policy: off
    assert svc.identity.get(customer).frozen and svc.wallet.summary(customer).frozen
    ticket = client.get(f"/api/v1/tickets/{opened.json()['ticket_id']}", headers=agents["lead"]).json()
    assert (ticket["priority"], sorted(ticket["tags"])) == ("high", ["dispute", "security_alert",
                                                                      "unrecognised_charge"])
    ledger_ok(svc)


def test_opening_is_idempotent_and_one_case_per_payment(svc, client, shopper):
    _, payment, me = shopper
    first = open_case(client, me, payment.reference)
    retry = open_case(client, me, payment.reference)
    other = open_case(client, me, payment.reference, key="dp-2")

    assert (first.status_code, retry.status_code, retry.json()["id"]) == (201, 201, first.json()["id"])
    assert (other.status_code, other.json()["error"]["code"]) == (409, "dispute_open")
    assert len(client.get("/api/v1/me/disputes", headers=me).json()) == 1


def test_evidence_files_are_the_customers_own_uploads(svc, client, shopper, make_customer):
    _, payment, me = shopper
    uploaded = client.post("/api/v1/me/attachments", params={"name": "resi.png"}, content=PNG,
                           headers={**me, "Content-Type": "image/png"}).json()
    case = open_case(client, me, payment.reference, attachments=[uploaded["id"]]).json()
    assert [(e["kind"], e["attachment_id"]) for e in case["evidence"] if e["attachment_id"]] == \
        [("file", uploaded["id"])]

    more = client.post(f"/api/v1/me/disputes/{case['id']}/evidence", headers=me,
                       json={"evidence": [{"kind": "shipping_proof", "body": "no tracking number was given"}]})
    reused = client.post(f"/api/v1/me/disputes/{case['id']}/evidence", headers=me,
                         json={"attachments": [uploaded["id"]]})

    assert more.json()["evidence"][-1]["kind"] == "shipping_proof"
    assert reused.status_code == 404  # already sent: no longer an unsent upload of theirs


def test_a_customer_sees_only_their_own_disputes_and_agents_need_their_permissions(
        svc, client, shopper, make_customer, agents):
    customer, payment, me = shopper
    case = open_case(client, me, payment.reference).json()
    make_customer(phone="+6281399990000")
    other = bearer(client.post("/api/v1/auth/login", json={"login": "+6281399990000",
                                                           "password": PASSWORD}).json()["token"])
    before = ledger_snapshot(svc)

    assert client.get(f"/api/v1/me/disputes/{case['id']}", headers=other).status_code == 404
    assert client.post(f"/api/v1/me/disputes/{case['id']}/withdraw", headers=other).status_code == 404
    assert client.post(f"/api/v1/me/disputes/{case['id']}/evidence", headers=other,
                       json={"evidence": [{"kind": "note", "body": "mine now"}]}).status_code == 404
    assert client.get("/api/v1/me/disputes", headers=other).json() == []
    # Another customer's payment answers as an unknown one.
    assert open_case(client, other, payment.reference, key="steal").status_code == 404
    assert client.get("/api/v1/me/disputes").status_code == 401
    assert client.get("/api/v1/disputes", headers=me).status_code == 401  # a customer is no agent
    client.post(f"/api/v1/disputes/{case['id']}/review", headers=agents["ayu"], json={"reason": "overdue"})
    denied = client.post(f"/api/v1/disputes/{case['id']}/decision", headers=agents["ayu"],
                         json={"outcome": "won", "reason": "looks right"})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    assert client.get(f"/api/v1/me/disputes/{case['id']}", headers=me).json()["status"] == "under_review"
    assert ledger_snapshot(svc) == before
    ledger_ok(svc)


def test_agents_read_cases_with_personal_data_masked(svc, client, shopper, agents):
    _, payment, me = shopper
    open_case(client, me, payment.reference, description="Call me on 081311112222 or budi@example.com please")

    listed = client.get("/api/v1/disputes", headers=agents["ayu"], params={"status": "needs_response"}).json()
    seen = client.get(f"/api/v1/disputes/{listed[0]['id']}", headers=agents["ayu"]).json()

    description = seen["evidence"][0]["body"]
    assert "081311112222" not in description and "budi@example.com" not in description
    assert description.startswith("Call me on ") and description.endswith(" please")
    assert client.get("/api/v1/disputes", headers=agents["ayu"], params={"status": "won"}).json() == []


@pytest.mark.parametrize("change", [
    {"reason": "fraud"}, {"description": "x\u0000y"}, {"description": "z" * 2001}, {"reference": 12345},
    {"reference": "GP" + "9" * 100}, {"evidence": [{"kind": "selfie", "body": "x"}]},
    {"evidence": [{"kind": "receipt", "body": "r" * 5000}]}, {"attachments": [2**70]}, {"attachments": ["1"]},
    {"freeze_account": "yes please"}, {"freeze_account": True},  # a freeze only for an unrecognised charge
])
def test_hostile_input_is_refused_and_changes_nothing(svc, client, shopper, change, provisional):
    change = dict(change)
    _, payment, me = shopper
    before = ledger_snapshot(svc)

    response = open_case(client, me, change.pop("reference", payment.reference), **change)

    assert 400 <= response.status_code < 500, response.text
    assert ledger_snapshot(svc) == before
    assert client.get("/api/v1/me/disputes", headers=me).json() == []


def test_hostile_ids_and_bodies_on_every_dispute_endpoint_are_4xx(svc, client, shopper, agents):
    _, payment, me = shopper
    case = open_case(client, me, payment.reference).json()
    huge = 2**80
    answers = [
        client.get(f"/api/v1/me/disputes/{huge}", headers=me),
        client.post(f"/api/v1/me/disputes/{huge}/withdraw", headers=me),
        client.get(f"/api/v1/disputes/{huge}", headers=agents["lead"]),
        client.get("/api/v1/disputes", headers=agents["lead"], params={"status": "bogus"}),
        client.post(f"/api/v1/disputes/{case['id']}/decision", headers=agents["lead"],
                    json={"outcome": "draw", "reason": "hm"}),
        client.post(f"/api/v1/disputes/{case['id']}/decision", headers=agents["lead"],
                    json={"outcome": "won", "reason": "needs review first"}),
        client.post(f"/api/v1/disputes/{case['id']}/merchant-response", headers=agents["lead"],
                    json={"body": 42}),
        client.post(f"/api/v1/disputes/{case['id']}/review", headers=agents["lead"], json={"reason": "\u0000ok"}),
        client.post(f"/api/v1/me/disputes/{case['id']}/evidence", headers=me, json={}),
        client.post("/api/v1/me/disputes", headers=me, json={"reference": payment.reference}),
    ]
    codes = [a.status_code for a in answers]
    assert codes == [422, 422, 422, 422, 422, 409, 422, 422, 422, 422], [a.text for a in answers]
    missing = [client.get("/api/v1/me/disputes/999999", headers=me), client.get("/api/v1/disputes/999999",
                                                                                 headers=agents["lead"])]
    assert [a.status_code for a in missing] == [404, 404]
    assert client.get(f"/api/v1/me/disputes/{case['id']}", headers=me).json()["status"] == "needs_response"
    ledger_ok(svc)


def test_a_crash_between_the_wallet_and_our_commit_is_repaired_once(svc, shopper, provisional, monkeypatch):
    customer, payment, _ = shopper
    record = svc.disputes.money._record
    crashes = iter([True])

    def crash_once(dispute_id, unset, **values):
        if next(crashes, False):
            raise RuntimeError("process died after the wallet moved the money")
        record(dispute_id, unset, **values)

    monkeypatch.setattr(svc.disputes.money, "_record", crash_once)
    with pytest.raises(RuntimeError):
        svc.disputes.open(customer, payment.reference, reason="not_delivered", description="never came",
                          idempotency_key="crash-1")
    case = svc.disputes.list(customer)[0]
    assert case.provisional_credited is False and svc.wallet.summary(customer).balance == 500_000

    assert svc.disputes.settle_all() == 1
    assert svc.disputes.settle_all() == 0

    assert svc.disputes.get(customer, case.id).provisional_credited is True
    assert svc.wallet.summary(customer).balance == 500_000  # credited once, not twice
    ledger_ok(svc)


def test_ledger_verify_finds_a_case_that_disagrees_with_the_ledger(svc, shopper, provisional):
    customer, payment, _ = shopper
    case = svc.disputes.open(customer, payment.reference, reason="not_delivered", description="never came",
                             idempotency_key="v-1")
    ledger_ok(svc)
    with svc.db.transaction() as s:
        s.execute(text("UPDATE disputes SET provisional_amount = 100000 WHERE id = :id"), {"id": case.id})
        s.execute(text("INSERT INTO payment_callbacks (provider, event_id, reference, outcome, result, "
                       "transaction_status, settles_reference, deliveries, received_at) VALUES ('stripe', 'evt_x', "
                       ":r, 'succeeded', 'applied', 'failed', :r, 1, :now)"),
                  {"r": payment.reference, "now": svc.clock.now()})

    report = verify(svc.db, extra=DISPUTE_CHECKS)

    assert set(report.violations) == {"dispute_credits_match_cases", "disputes_account_holds_credits",
                                      "callbacks_applied_once"}
