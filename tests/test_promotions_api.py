"""Promotions over HTTP: public running campaigns, management behind `promotion.manage`, and the
agent's view of one payment's cashback with every rule checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import START

CAMPAIGN = {"code": "JAJAN10", "titles": {"zh-CN": "美食返现", "en": "Food cashback", "id": "Cashback kuliner"},
            "starts_at": (START - timedelta(days=1)).isoformat(), "ends_at": (START + timedelta(days=30)).isoformat(),
            "percent": 10, "max_cashback": 10_000, "rules": {"merchant_categories": ["food"], "min_amount": 25_000}}


@pytest.fixture
def tokens(svc):
    made = {}
    for email, role in (("lead@gopay.test", "supervisor"), ("ayu@gopay.test", "agent")):
        svc.agents.create(email, role, password="Agent-pass1")
        made[email.split("@")[0]] = {"Authorization": f"Bearer {svc.agents.create_token(email)}"}
    return made


def test_managing_campaigns_needs_the_permission_and_bad_input_changes_nothing(client, tokens, svc):
    denied = client.post("/api/v1/admin/promotions", headers=tokens["ayu"], json=CAMPAIGN)
    bad = client.post("/api/v1/admin/promotions", headers=tokens["lead"],
                      json={**CAMPAIGN, "rules": {"min_amount": "lots"}})
    assert (denied.status_code, bad.status_code) == (403, 422)
    assert svc.promotions.list() == []

    created = client.post("/api/v1/admin/promotions", headers=tokens["lead"], json=CAMPAIGN)
    assert created.status_code == 201, created.text
    assert created.json()["terms"] == ("Food cashback (JAJAN10): 10% cashback up to Rp10.000; at food merchants, "
                                       "from Rp25.000 per payment, until 25 Dec 2026.")
    again = client.post("/api/v1/admin/promotions", headers=tokens["lead"], json=CAMPAIGN)
    assert again.status_code == 409

    paused = client.post("/api/v1/admin/promotions/JAJAN10/status", headers=tokens["lead"], json={"status": "paused"})
    assert paused.json()["status"] == "paused"
    assert client.get("/api/v1/promotions").json()["items"] == []


def test_the_help_center_lists_running_campaigns_in_the_readers_language(client, tokens):
    client.post("/api/v1/admin/promotions", headers=tokens["lead"], json=CAMPAIGN)
    client.post("/api/v1/admin/promotions", headers=tokens["lead"], json={
        **CAMPAIGN, "code": "LATER", "starts_at": (START + timedelta(days=2)).isoformat()})

    items = client.get("/api/v1/promotions", params={"lang": "zh-CN"}).json()["items"]

    assert [i["code"] for i in items] == ["JAJAN10"]
    assert items[0]["terms"] == ("美食返现（JAJAN10）：返现10%，最高Rp10.000；"
                                 "限餐饮商户、单笔满Rp25.000、活动截至2026年12月25日。")
    assert "budget" not in items[0] and "granted_total" not in items[0]


def test_an_agent_sees_why_a_payment_earned_nothing(client, tokens, svc, make_customer, make_merchant):
    client.post("/api/v1/admin/promotions", headers=tokens["lead"], json=CAMPAIGN)
    customer, other = make_customer(balance=100_000), make_customer()
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 20_000, "p-1")
    svc.promotions.award(customer, payment.reference)

    got = client.get(f"/api/v1/customers/{customer}/payments/{payment.reference}/cashback",
                     headers=tokens["ayu"], params={"lang": "id"})
    hidden = client.get(f"/api/v1/customers/{other}/payments/{payment.reference}/cashback", headers=tokens["ayu"])

    assert got.status_code == 200, got.text
    body = got.json()
    assert body["decision"]["status"] == "none"
    failed = [c for c in body["campaigns"][0]["checks"] if not c["passed"]]
    assert failed == [{"rule": "min_amount", "passed": False, "facts": {"required": 25_000, "actual": 20_000},
                       "why": "minimal transaksi Rp25.000, transaksi Anda Rp20.000"}]
    assert hidden.status_code == 404


def test_a_supervisor_grants_a_cashback_once_within_the_budget(client, tokens, svc, make_customer, make_merchant):
    client.post("/api/v1/admin/promotions", headers=tokens["lead"], json={**CAMPAIGN, "budget": 12_000})
    customer = make_customer(balance=300_000)
    merchant = make_merchant("Bakmi GM", "food")
    small = svc.wallet.pay_merchant(customer, merchant, 20_000, "p-small")  # under the minimum: earns nothing
    big = svc.wallet.pay_merchant(customer, merchant, 150_000, "p-big")
    for ref in (small.reference, big.reference):
        svc.promotions.award(customer, ref)
    url = f"/api/v1/customers/{customer}/payments/{small.reference}/cashback"
    body = {"campaign": "JAJAN10", "reason": "customer was told the minimum was Rp20.000"}
    before = (svc.wallet.summary(customer).balance, svc.promotions.get("JAJAN10").granted_total)

    denied = client.post(url, headers=tokens["ayu"], json=body)
    no_reason = client.post(url, headers=tokens["lead"], json={"campaign": "JAJAN10", "reason": ""})
    rewarded = client.post(f"/api/v1/customers/{customer}/payments/{big.reference}/cashback",
                           headers=tokens["lead"], json=body)
    assert (denied.status_code, no_reason.status_code) == (403, 422)
    assert (rewarded.status_code, rewarded.json()["error"]["code"]) == (409, "already_decided")
    assert (svc.wallet.summary(customer).balance, svc.promotions.get("JAJAN10").granted_total) == before

    granted = client.post(url, headers=tokens["lead"], json=body)
    again = client.post(url, headers=tokens["lead"], json=body)

    assert granted.status_code == 200, granted.text
    decision = granted.json()["decision"]
    assert (decision["status"], decision["campaign"], decision["amount"]) == ("credited", "JAJAN10", 2_000)
    assert svc.wallet.get_transaction(decision["cashback_reference"]).original_reference == small.reference
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_decided")
    assert svc.wallet.summary(customer).balance == before[0] + 2_000
    assert svc.promotions.get("JAJAN10").granted_total == 12_000


def test_a_grant_the_budget_cannot_cover_changes_nothing(client, tokens, svc, make_customer, make_merchant):
    client.post("/api/v1/admin/promotions", headers=tokens["lead"], json={**CAMPAIGN, "budget": 1_000})
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 20_000, "p-1")
    svc.promotions.award(customer, payment.reference)
    before = (svc.wallet.summary(customer).balance, svc.promotions.decision(payment.reference))

    refused = client.post(f"/api/v1/customers/{customer}/payments/{payment.reference}/cashback",
                          headers=tokens["lead"], json={"campaign": "JAJAN10", "reason": "goodwill"})

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "budget_exhausted")
    assert (svc.wallet.summary(customer).balance, svc.promotions.decision(payment.reference)) == before
