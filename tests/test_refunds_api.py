"""Refunds through the HTTP API: the brief's refund procedure end to end (apply → the merchant is silent →
review → a maker proposes → a checker approves → refunded → the customer sees the timeline, the balance
restored and the cashback clawed back), who may do what, hostile input, and personal data masked."""

from __future__ import annotations

import pytest

from gopaycare.wallet.verify import verify
from tests.conftest import PASSWORD, ledger_snapshot

PHONE = "+6281277770001"


@pytest.fixture
def world(svc, client, make_customer, make_merchant):
    customer = make_customer(phone=PHONE, balance=2_000_000, language="id")
    merchant = make_merchant("Toko Sepatu")
    other_merchant = make_merchant("Toko Lain")
    token = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]
    agents = {}
    for email, role in (("maker@gopay.test", "supervisor"), ("checker@gopay.test", "supervisor"),
                        ("ayu@gopay.test", "agent")):
        svc.agents.create(email, role)
        agents[email.split("@")[0]] = {"Authorization": f"Bearer {svc.agents.create_token(email)}"}
    return {
        "customer": customer, "merchant": merchant, "me": {"Authorization": f"Bearer {token}"}, **agents,
        "shop": {"Authorization": f"Bearer {svc.merchant_keys.create(merchant)}"},
        "other_shop": {"Authorization": f"Bearer {svc.merchant_keys.create(other_merchant)}"},
    }


def paid(svc, world, amount, key, cashback=0):
    payment = svc.wallet.pay_merchant(world["customer"], world["merchant"], amount, key)
    if cashback:
        svc.wallet.credit_cashback(world["customer"], cashback, f"cb-{key}", campaign="promo",
                                   original_reference=payment.reference)
    return payment.reference


def apply(client, world, reference=None, key="k-1", **fields):
    body = {"reference": reference, "reason_code": "goods_not_received", "reason": "sepatu tidak sampai", **fields}
    return client.post("/api/v1/me/refunds", json=body, headers={**world["me"], "Idempotency-Key": key})


def test_the_refund_procedure_end_to_end(svc, client, clock, world):
    reference = paid(svc, world, 1_000_000, "order-1", cashback=50_000)
    assert client.get("/api/v1/me/wallet", headers=world["me"]).json()["balance"] == 1_050_000

    # Apply: eligible, then submitted; the merchant holds the money and is asked first
    eligible = client.get(f"/api/v1/me/refunds/eligibility?reference={reference}", headers=world["me"]).json()
    assert (eligible["eligible"], eligible["refundable"]) == (True, 1_000_000)
    applied = apply(client, world, reference)
    assert applied.status_code == 201, applied.text
    request = applied.json()
    assert request["status"] == "awaiting_merchant" and request["status_text"] == "menunggu jawaban merchant"
    assert apply(client, world, reference).json()["id"] == request["id"]  # a retry is the same request
    assert [r["id"] for r in client.get("/api/v1/merchant/refunds", headers=world["shop"]).json()["items"]] == [
        request["id"]]

    # The merchant is silent: the sweep job sends it to GoPay's review
    clock.advance(days=svc.settings.refunds.merchant_days, minutes=1)
    svc.tasks["refunds_sweep"].call_local()
    token = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]
    world["me"] = {"Authorization": f"Bearer {token}"}  # days later: the customer logs in again
    queue = client.get("/api/v1/refunds", headers=world["maker"]).json()
    assert [(r["id"], r["needs_second_approval"]) for r in queue] == [(request["id"], True)]

    # The maker proposes, the checker approves
    rid = request["id"]
    proposed = client.post(f"/api/v1/refunds/{rid}/propose", json={"reason": "no tracking"}, headers=world["maker"])
    assert proposed.status_code == 200 and proposed.json()["proposed_by"] is not None
    self_approval = client.post(f"/api/v1/refunds/{rid}/approve", json={"reason": "mine"}, headers=world["maker"])
    assert (self_approval.status_code, self_approval.json()["error"]["code"]) == (403, "same_agent")
    approved = client.post(f"/api/v1/refunds/{rid}/approve", json={"reason": "checked"}, headers=world["checker"])
    assert approved.status_code == 200 and approved.json()["status"] == "refunded"

    # The customer sees the timeline, the balance restored and the cashback clawed back
    mine = client.get(f"/api/v1/me/refunds/{rid}", headers=world["me"]).json()
    assert "timeline" in mine, mine
    assert [s["step"] for s in mine["timeline"]] == [
        "submitted", "sent_to_merchant", "merchant_silent", "proposed", "approved", "processing", "refunded",
        "clawed_back"]
    assert mine["timeline"][-2]["text"] == "Dana sudah kembali"
    assert all(s["actor"] in ("customer", "merchant", "gopay") for s in mine["timeline"])
    assert mine["clawback"] == {"due": 50_000, "taken": 50_000, "shortfall": 0}
    assert client.get("/api/v1/me/wallet", headers=world["me"]).json()["balance"] == 2_000_000
    in_english = client.get(f"/api/v1/me/refunds/{rid}?lang=en", headers=world["me"]).json()
    assert in_english["status_text"] == "refunded"

    # And was told on the channel they used (the app's chat), in their language
    conversation = client.get("/api/v1/me/conversations", headers=world["me"]).json()
    conversation_id = (conversation["items"] if isinstance(conversation, dict) else conversation)[0]["id"]
    said = client.get(f"/api/v1/me/conversations/{conversation_id}/messages?after=0", headers=world["me"]).json()
    bodies = [m["body"] for m in (said["items"] if isinstance(said, dict) else said)]
    assert any(f"RR{rid}" in body and "sudah kembali ke saldo GoPay" in body for body in bodies), bodies
    assert verify(svc.db).ok


def test_a_rejection_the_customer_reads_in_their_language(svc, client, world):
    reference = paid(svc, world, 300_000, "order-1")
    rid = apply(client, world, reference).json()["id"]
    client.post(f"/api/v1/merchant/refunds/{rid}/decline", json={"reason": "delivered"}, headers=world["shop"])
    before = ledger_snapshot(svc)
    rejected = client.post(f"/api/v1/refunds/{rid}/reject", headers=world["checker"],
                           json={"reason": "signed delivery receipt", "rejection_code": "merchant_delivered"})
    assert rejected.status_code == 200
    mine = client.get(f"/api/v1/me/refunds/{rid}", headers=world["me"]).json()
    assert (mine["status"], mine["rejection_text"]) == (
        "rejected", "Merchant menunjukkan barang atau layanan sudah diterima.")
    zh = client.get(f"/api/v1/me/refunds/{rid}?lang=zh-CN", headers=world["me"]).json()
    assert zh["rejection_text"] == "商户已证明商品或服务已交付。"
    assert ledger_snapshot(svc) == before and verify(svc.db).ok


def test_who_may_do_what(svc, client, world, make_customer):
    reference = paid(svc, world, 600_000, "order-1")
    rid = apply(client, world, reference).json()["id"]
    # Merchants: only their own cases (404 otherwise), and only with a key
    assert client.get(f"/api/v1/merchant/refunds/{rid}", headers=world["other_shop"]).status_code == 404
    assert client.post(f"/api/v1/merchant/refunds/{rid}/accept", json={},
                       headers=world["other_shop"]).status_code == 404
    assert client.get("/api/v1/merchant/refunds", headers=world["other_shop"]).json()["items"] == []
    assert client.get("/api/v1/merchant/refunds").status_code == 401
    assert client.get("/api/v1/merchant/refunds", headers={"Authorization": "Bearer gpm_not-a-real-key-at-all"}
                      ).status_code == 401
    assert client.get("/api/v1/merchant/refunds", headers=world["me"]).status_code == 401  # a customer's token
    # Customers: only their own requests
    make_customer(phone="+6281277770002")
    stranger = client.post("/api/v1/auth/login", json={"login": "+6281277770002", "password": PASSWORD}).json()
    assert client.get(f"/api/v1/me/refunds/{rid}",
                      headers={"Authorization": f"Bearer {stranger['token']}"}).status_code == 404
    assert client.get(f"/api/v1/me/refunds/{rid}").status_code == 401
    # Agents: a customer's token is not an agent's; refund.approve only for those who hold it
    assert client.get("/api/v1/refunds", headers=world["me"]).status_code == 401
    client.post(f"/api/v1/merchant/refunds/{rid}/decline", json={"reason": "we shipped it"}, headers=world["shop"])
    client.post(f"/api/v1/refunds/{rid}/propose", json={"reason": "fine"}, headers=world["ayu"])
    before = ledger_snapshot(svc)
    denied = client.post(f"/api/v1/refunds/{rid}/approve", json={"reason": "fine"}, headers=world["ayu"])
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    changed = client.patch(f"/api/v1/refunds/{rid}", json={"amount": 550_000, "reason": "partial"},
                           headers=world["maker"])
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.post(f"/api/v1/refunds/{rid}/approve", json={"reason": "okay"}, headers=world["checker"])
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "changed_since_proposal")
    assert ledger_snapshot(svc) == before


@pytest.mark.parametrize("field,value", [
    ("amount", 2**70), ("amount", "100000"), ("amount", -5), ("amount", True), ("reason", "x\x00y"),
    ("reason", "r" * 5000), ("reason_code", "because"), ("evidence", ["1"]), ("evidence", [2**70]),
    ("reference", "G" * 5000), ("reference", 12345), ("evidence", list(range(1, 40))),
])
def test_hostile_refund_requests_are_refused_and_change_nothing(svc, client, world, field, value):
    reference = paid(svc, world, 100_000, "order-1")
    before = ledger_snapshot(svc)
    answer = apply(client, world, **{"reference": reference, field: value})
    assert 400 <= answer.status_code < 500 and "error" in answer.json()
    assert ledger_snapshot(svc) == before
    assert client.get("/api/v1/me/refunds", headers=world["me"]).json() == []


def test_hostile_ids_keys_and_decisions_are_4xx(svc, client, world):
    reference = paid(svc, world, 600_000, "order-1")
    rid = apply(client, world, reference).json()["id"]
    before = ledger_snapshot(svc)
    for answer in (
        client.get(f"/api/v1/me/refunds/{2**70}", headers=world["me"]),
        client.get("/api/v1/me/refunds/abc", headers=world["me"]),
        client.get("/api/v1/me/refunds/eligibility?reference=" + "G" * 500, headers=world["me"]),
        client.get("/api/v1/me/refunds?lang=en&extra=1", headers=world["me"]),
        apply(client, world, reference, key="k" * 500),
        client.post(f"/api/v1/merchant/refunds/{rid}/decline", json={"reason": "n\x00o"}, headers=world["shop"]),
        client.post(f"/api/v1/merchant/refunds/{rid}/decline", json={"reason": 5}, headers=world["shop"]),
        client.post(f"/api/v1/merchant/refunds/{2**70}/accept", json={}, headers=world["shop"]),
        client.post(f"/api/v1/refunds/{rid}/reject", json={"reason": "bad", "rejection_code": "nope"},
                    headers=world["checker"]),
        client.patch(f"/api/v1/refunds/{rid}", json={"amount": 2**70, "reason": "huge"}, headers=world["maker"]),
        client.patch(f"/api/v1/refunds/{rid}", json={"amount": 700_000, "reason": "more than paid"},
                     headers=world["maker"]),
        client.post(f"/api/v1/me/refunds/{rid}/evidence", json={"evidence": [987654]}, headers=world["me"]),
    ):
        assert 400 <= answer.status_code < 500, answer.text
    assert ledger_snapshot(svc) == before
    assert client.get(f"/api/v1/me/refunds/{rid}", headers=world["me"]).json()["status"] == "awaiting_merchant"


def test_agents_and_merchants_read_the_customers_words_masked(svc, client, world):
    reference = paid(svc, world, 600_000, "order-1")
    words = "call me on +6281234567890 or siti@example.com, the parcel never came"
    rid = apply(client, world, reference, reason_code="other", reason=words).json()["id"]
    as_merchant = client.get(f"/api/v1/merchant/refunds/{rid}", headers=world["shop"]).json()["reason"]
    as_agent = client.get(f"/api/v1/refunds/{rid}", headers=world["maker"]).json()["reason"]
    for shown in (as_merchant, as_agent):
        assert "6281234567890" not in shown and "siti@example.com" not in shown and "parcel never came" in shown
    assert client.get(f"/api/v1/me/refunds/{rid}", headers=world["me"]).json()["reason"] == words


def test_an_agent_files_a_refund_on_a_ticket(svc, client, world, supervisor):
    reference = paid(svc, world, 20_000, "order-1")
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE,
                                         body="double charge")
    filed = client.post(f"/api/v1/tickets/{got.ticket_id}/refunds", headers={**world["maker"], "Idempotency-Key": "a1"},
                        json={"reference": reference, "reason_code": "duplicate_charge"})
    assert filed.status_code == 201, filed.text
    assert (filed.json()["status"], filed.json()["ticket_id"]) == ("refunded", got.ticket_id)
    assert client.post(f"/api/v1/tickets/{2**62}/refunds", headers={**world["maker"], "Idempotency-Key": "a2"},
                       json={"reference": reference, "reason_code": "duplicate_charge"}).status_code == 404
    assert verify(svc.db).ok
