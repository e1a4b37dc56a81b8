"""The merchant page (docs/adr/0027): a merchant signs in with its API key, lists its refund requests
and disputes with their due dates, accepts, declines with a reason, answers a dispute with evidence or
accepts it. It sees only its own cases (another's is 404, and a refused action changes nothing), every
POST needs the CSRF token, hostile input is a 4xx, and the customer's words are masked."""

from __future__ import annotations

import re

import pytest

from gopaycare.wallet.verify import verify

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the page, not the engine, is tested here


@pytest.fixture
def shops(svc, client, make_customer, make_merchant):
    customer = make_customer(balance=2_000_000, language="en", tier="plus")
    mine, other = make_merchant("Toko Sepatu"), make_merchant("Toko Lain")
    cases = {}
    for who, merchant in (("mine", mine), ("other", other)):
        pay = [svc.wallet.pay_merchant(customer, merchant, amount, f"{who}-{amount}").reference
               for amount in (40_000 * 10, 30_000 * 10, 20_000 * 10)]
        cases[who] = {
            "refund": svc.refunds.submit(customer, pay[0], reason_code="goods_not_received",
                                         reason="not here, call me on +6281299998888", idempotency_key=f"r-{who}").id,
            "refund2": svc.refunds.submit(customer, pay[1], reason_code="wrong_amount", reason="charged twice",
                                          idempotency_key=f"r2-{who}").id,
            "dispute": svc.disputes.open(customer, pay[2], reason="not_delivered", description="never arrived",
                                         idempotency_key=f"d-{who}").id,
            "key": svc.merchant_keys.create(merchant),
        }
    return {"customer": customer, "mine": cases["mine"], "other": cases["other"]}


def csrf(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)


def sign_in(client, key):
    return client.post("/merchant/login", data={"csrf": csrf(client, "/merchant/login"), "key": key},
                       follow_redirects=False)


def test_a_merchant_signs_in_and_sees_only_its_cases(svc, client, shops):
    assert client.get("/merchant/cases", follow_redirects=False).headers["location"] == "/merchant/login"
    assert sign_in(client, "gpm_not-a-real-key-at-all").status_code == 401
    signed = sign_in(client, shops["mine"]["key"])
    assert (signed.status_code, signed.headers["location"]) == (303, "/merchant/cases")

    listing = client.get("/merchant/cases?lang=en")
    assert listing.status_code == 200
    mine, other = shops["mine"], shops["other"]
    assert f"RR{mine['refund']}" in listing.text and f"DP{mine['dispute']}" in listing.text
    assert f"RR{other['refund']}" not in listing.text and f"DP{other['dispute']}" not in listing.text
    assert "Answer by" in listing.text and "Toko Sepatu" in listing.text
    assert "waiting for your response" in listing.text  # states in the page's language
    assert "等待您回应" in client.get("/merchant/cases?lang=zh-CN").text

    page = client.get(f"/merchant/refunds/{mine['refund']}")
    assert "+6281299998888" not in page.text and "not here" in page.text  # the customer's number masked
    assert client.get(f"/merchant/refunds/{other['refund']}").status_code == 404
    assert client.get(f"/merchant/disputes/{other['dispute']}").status_code == 404
    token = csrf(client, "/merchant/cases")
    before = (svc.refunds.get(other["refund"]).status, svc.disputes.find(other["dispute"]).status)
    for path, form in ((f"/merchant/refunds/{other['refund']}/accept", {}),
                       (f"/merchant/refunds/{other['refund']}/decline", {"reason": "no"}),
                       (f"/merchant/disputes/{other['dispute']}/evidence", {"kind": "note", "body": "x"}),
                       (f"/merchant/disputes/{other['dispute']}/accept", {})):
        assert client.post(path, data={"csrf": token, **form}).status_code == 404, path
    assert (svc.refunds.get(other["refund"]).status, svc.disputes.find(other["dispute"]).status) == before


def test_accept_decline_evidence_and_accepting_a_dispute(svc, client, shops):
    sign_in(client, shops["mine"]["key"])
    mine = shops["mine"]
    token = csrf(client, "/merchant/cases")
    # Without the token nothing happens
    assert client.post(f"/merchant/refunds/{mine['refund']}/accept", data={}).status_code == 403
    assert svc.refunds.get(mine["refund"]).status == "awaiting_merchant"
    # A decline needs its reason; with one the request goes to GoPay's review
    assert client.post(f"/merchant/refunds/{mine['refund2']}/decline", data={"csrf": token}).status_code == 422
    declined = client.post(f"/merchant/refunds/{mine['refund2']}/decline",
                           data={"csrf": token, "reason": "the price was right"}, follow_redirects=False)
    assert declined.status_code == 303 and svc.refunds.get(mine["refund2"]).status == "under_review"
    accepted = client.post(f"/merchant/refunds/{mine['refund']}/accept", data={"csrf": token, "reason": "cancelled"},
                           follow_redirects=False)
    assert accepted.status_code == 303 and svc.refunds.get(mine["refund"]).status == "refunded"
    # Evidence answers the dispute: it goes to review and shows on the page
    answered = client.post(f"/merchant/disputes/{mine['dispute']}/evidence",
                           data={"csrf": token, "kind": "shipping_proof", "body": "JNE 123, signed by the buyer"})
    assert answered.status_code == 200 and "JNE 123" in answered.text and "物流凭证" in answered.text
    assert svc.disputes.find(mine["dispute"]).status == "under_review"
    conceded = client.post(f"/merchant/disputes/{mine['dispute']}/accept", data={"csrf": token})
    assert conceded.status_code == 200
    case = svc.disputes.find(mine["dispute"])
    assert case.status == "won" and case.refunded == 200_000
    assert client.post(f"/merchant/disputes/{mine['dispute']}/accept", data={"csrf": token}).status_code == 409
    assert verify(svc.db).ok


def test_hostile_input_is_refused_and_changes_nothing(svc, client, shops):
    sign_in(client, shops["mine"]["key"])
    mine = shops["mine"]
    token = csrf(client, "/merchant/cases")
    # "²" is a digit to str.isdigit() but not to int(): such a path or cookie once answered 500.
    for path in ("/merchant/refunds/99999999999999999999999", "/merchant/disputes/-1", "/merchant/refunds/abc",
                 "/merchant/disputes/1%00", "/merchant/refunds/%C2%B2", "/merchant/disputes/%C2%B2"):
        assert client.get(path).status_code == 404, path
    refused = [
        client.post(f"/merchant/refunds/{mine['refund']}/decline", data={"csrf": token, "reason": "x\x00y"}),
        client.post(f"/merchant/refunds/{mine['refund']}/decline", data={"csrf": token, "reason": "x" * 20_000}),
        client.post(f"/merchant/disputes/{mine['dispute']}/evidence",
                    data={"csrf": token, "kind": "file", "body": "not a merchant's kind"}),
        client.post(f"/merchant/disputes/{mine['dispute']}/evidence",
                    data={"csrf": token, "kind": "note", "body": "y" * 2001}),
        client.post(f"/merchant/disputes/{mine['dispute']}/evidence", content=b'{"kind": 1}',
                    headers={"content-type": "application/json", "x-csrf-token": token}),
        client.post("/merchant/login", data={"csrf": token, "key": 12345}),
    ]
    assert all(400 <= r.status_code < 500 for r in refused), [r.status_code for r in refused]
    assert svc.refunds.get(mine["refund"]).status == "awaiting_merchant"
    assert svc.disputes.find(mine["dispute"]).status == "needs_response"
    # A forged session is no session
    client.cookies.set("gpm_session", "1.99999999999.deadbeef")
    assert client.get("/merchant/cases", follow_redirects=False).status_code == 303
    client.cookies.clear()
    for forged in (b"\xb21.1.deadbeef", b"1.\xb29.deadbeef"):  # a header's byte 0xB2 reads as "²"
        answer = client.get("/merchant/cases", headers={"cookie": b"gpm_session=" + forged}, follow_redirects=False)
        assert answer.status_code == 303, forged
