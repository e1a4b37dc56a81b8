"""The HTTP API end to end through FastAPI's TestClient: operations endpoints, request ids and
metrics, the error shape, the customer API (login, wallet, idempotent payments) and the agent
API (masked PII, audited reveal, freeze, reverse), with authentication and permissions."""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.exceptions import StarletteDeprecationWarning

from gopaycare.container import Services
from gopaycare.platform.audit import AuditEntry
from gopaycare.web.app import create_app

from .conftest import PASSWORD, PIN, ledger_snapshot

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its TestClient; httpx (already a dependency) still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PHONE = "+6281234560001"
REVERSE = {"reason": "provider timed out after the debit"}
NIK = "3171012345670001"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def customer(make_customer) -> int:
    """Customer 1: phone +6281234560001, customer1@example.com, NIK ending 0001, Rp 150.000."""
    return make_customer(phone=PHONE, id_number=NIK, balance=150_000)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: TestClient, login: str = PHONE, **secret: str) -> str:
    response = client.post("/api/v1/auth/login", json={"login": login, **(secret or {"password": PASSWORD})})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _agent_token(svc: Services, role: str, email: str | None = None) -> str:
    email = email or f"{role}@gopay.test"
    svc.agents.create(email, role)
    return svc.agents.create_token(email)


def _error(response: Any) -> dict[str, Any]:
    """The error body, after checking its shape and that its request id matches the header."""
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body["error"]


def _audit(svc: Services, action: str) -> list[AuditEntry]:
    with svc.db.read() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        s.expunge_all()
        return rows


# ---------------------------------------------------------------- operations


def test_healthz_answers_json_with_the_database_and_job_mode(client, backend):
    # When the health check is called
    response = client.get("/healthz")

    # Then it names the database it reached and the job mode
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "database": backend, "jobs": "embedded"}


def test_openapi_and_docs_are_served(client):
    # When the API description and its docs page are fetched
    spec = client.get("/openapi.json")
    docs = client.get("/docs")

    # Then the spec lists the public routes (not /metrics) and the docs page is HTML
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "GoPay Care"
    paths = spec.json()["paths"]
    for path in ("/healthz", "/api/v1/auth/login", "/api/v1/me/wallet", "/api/v1/me/payments",
                 "/api/v1/customers/{customer_id}", "/api/v1/customers/{customer_id}/reveal",
                 "/api/v1/customers/{customer_id}/freeze", "/api/v1/transactions/{reference}/reverse"):
        assert path in paths
    assert "/metrics" not in paths and "/" not in paths
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower()


def test_landing_page_names_the_database(client, backend):
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GoPay Care" in response.text
    assert f"Database: {backend}" in response.text


def test_metrics_count_requests_by_route_template_not_raw_path(client, customer, svc):
    # Given a health check, two agent lookups of different customers and an unknown path
    token = _agent_token(svc, "agent")
    client.get("/healthz")
    client.get(f"/api/v1/customers/{customer}", headers=_auth(token))
    client.get("/api/v1/customers/424242", headers=_auth(token))
    client.get("/no/such/page")

    # When the metrics are scraped
    response = client.get("/metrics")

    # Then each request is counted under its route template, with its status
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    metrics = response.text
    assert 'gopaycare_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics
    assert ('gopaycare_http_requests_total{method="GET",route="/api/v1/customers/{customer_id}",status="200"} 1.0'
            in metrics)
    assert ('gopaycare_http_requests_total{method="GET",route="/api/v1/customers/{customer_id}",status="404"} 1.0'
            in metrics)
    assert 'gopaycare_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in metrics
    assert 'gopaycare_http_request_seconds_count{method="GET",route="/healthz"} 1.0' in metrics
    # And no raw path becomes a label (unbounded label values would grow without limit)
    assert "/no/such/page" not in metrics and "424242" not in metrics


def test_metrics_are_per_app(svc):
    # Given two apps on the same services
    with TestClient(create_app(svc)) as first, TestClient(create_app(svc)) as second:
        first.get("/healthz")

        # Then the second app's registry did not count the first one's request
        assert 'route="/healthz"' in first.get("/metrics").text
        assert 'route="/healthz"' not in second.get("/metrics").text


# ---------------------------------------------------------------- request ids


def test_a_valid_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "ticket-42.retry_1"})

    assert response.headers["x-request-id"] == "ticket-42.retry_1"


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "semi;colon", "x" * 65])
def test_a_missing_or_invalid_request_id_is_replaced_by_a_generated_one(client, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}

    first = client.get("/healthz", headers=headers).headers["x-request-id"]
    second = client.get("/healthz", headers=headers).headers["x-request-id"]

    assert HEX32.match(first) and HEX32.match(second)
    assert first != second


def test_the_longest_valid_request_id_is_kept(client):
    assert client.get("/healthz", headers={"X-Request-ID": "a" * 64}).headers["x-request-id"] == "a" * 64


# ---------------------------------------------------------------- the error shape


def test_unknown_route_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "req-404"})

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found", "details": {}},
                               "request_id": "req-404"}


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/healthz")

    assert response.status_code == 405
    assert _error(response) == {"code": "method_not_allowed", "message": "Method Not Allowed", "details": {}}


def test_an_invalid_body_lists_each_problem(client):
    response = client.post("/api/v1/auth/login", json={"password": 12})

    assert response.status_code == 422
    error = _error(response)
    assert (error["code"], error["message"]) == ("validation_failed", "the request is not valid")
    assert error["details"] == {"problems": [
        {"field": "login", "message": "Field required"},
        {"field": "password", "message": "Input should be a valid string"},
    ]}


def test_a_body_that_is_not_json_is_a_validation_error(client):
    response = client.post("/api/v1/auth/login", content=b"login=x", headers={"Content-Type": "text/plain"})

    assert response.status_code == 422
    assert _error(response)["code"] == "validation_failed"


def test_a_domain_error_keeps_its_code_and_details(client, customer):
    # When a login gives both a password and a PIN (the service refuses it)
    response = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD, "pin": PIN})

    # Then the domain error comes back as is
    assert response.status_code == 422
    assert _error(response) == {"code": "validation_failed", "message": "give either a password or a PIN",
                                "details": {"field": "password"}}


def test_a_crash_answers_500_with_the_request_id_and_is_logged(client, customer, svc, monkeypatch, caplog):
    # Given a wallet that crashes
    token = _login(client)

    def crash(customer_id: int) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(svc.wallet, "summary", crash)

    # When the customer opens their wallet
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/me/wallet", headers={**_auth(token), "X-Request-ID": "crash-1"})

    # Then the answer is the generic 500, carrying the request id to quote to support
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "crash-1"
    assert response.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side; it has been logged",
                  "details": {}},
        "request_id": "crash-1"}
    # And the traceback was logged once, without the exception's text reaching the client
    crashes = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert len(crashes) == 1
    assert crashes[0].exc_info[0] is ZeroDivisionError
    assert "boom" not in response.text
    # And the metrics count it as a 500
    assert 'route="/api/v1/me/wallet",status="500"} 1.0' in client.get("/metrics").text


# ---------------------------------------------------------------- customer: login


def test_login_with_password_gives_an_hour_token_and_a_30_day_refresh_token(client, customer, svc):
    # When the customer logs in with phone and password, from a device
    response = client.post("/api/v1/auth/login", json={
        "login": "0812-3456-0001", "password": PASSWORD, "device_key": "dev-1", "platform": "android",
        "os_version": "14", "app_version": "5.2.0"})

    # Then an access token comes back, valid for an hour, and a refresh token for 30 days (10:00 WIB)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "customer_id", "expires_at", "refresh_token", "refresh_expires_at"}
    assert body["customer_id"] == customer
    assert body["expires_at"] == "2026-11-25T04:00:00+00:00"
    assert body["refresh_expires_at"] == "2026-12-25T03:00:00+00:00"
    assert len(body["token"]) >= 32
    # And it opens the customer's own wallet
    assert client.get("/api/v1/me/wallet", headers=_auth(body["token"])).json()["customer_id"] == customer
    # And the device was recorded
    devices = svc.identity.devices(customer)
    assert [(d.device_key, d.platform, d.os_version, d.app_version) for d in devices] == [
        ("dev-1", "android", "14", "5.2.0")]


def test_login_with_email_and_with_pin(client, customer):
    by_email = client.post("/api/v1/auth/login", json={"login": "Customer1@Example.com", "password": PASSWORD})
    by_pin = client.post("/api/v1/auth/login", json={"login": PHONE, "pin": PIN})

    assert by_email.status_code == 200 and by_email.json()["customer_id"] == customer
    assert by_pin.status_code == 200 and by_pin.json()["customer_id"] == customer
    assert by_email.json()["token"] != by_pin.json()["token"]


LOGIN_FAILED = {"code": "login_failed",
                "message": "phone/email or password is not correct (passwords are case-sensitive)",
                "details": {}}


def test_wrong_password_is_401_login_failed_and_counted(client, customer, svc):
    response = client.post("/api/v1/auth/login", json={"login": PHONE, "password": "secret-PASS1"})

    assert response.status_code == 401
    assert _error(response) == LOGIN_FAILED
    assert svc.identity.get(customer).login_failures == 1


@pytest.mark.parametrize("body", [
    {"login": "+6281299990000", "password": PASSWORD},  # no such account
    {"login": "nobody@example.com", "password": PASSWORD},
    {"login": "not a phone", "password": PASSWORD},
    {"login": PHONE, "pin": "000000"},  # wrong PIN
])
def test_every_failed_login_gets_the_same_answer(client, customer, body):
    # The answer must not tell which phone numbers and emails have an account.
    response = client.post("/api/v1/auth/login", json=body)

    assert response.status_code == 401
    assert _error(response) == LOGIN_FAILED


def test_fifth_wrong_password_pauses_logins_and_only_the_right_password_hears_it(client, customer, svc):
    for _ in range(5):  # the fifth too answers as any wrong password: no oracle (docs/adr/0018)
        response = client.post("/api/v1/auth/login", json={"login": PHONE, "password": "nope-nope"})
        assert _error(response) == LOGIN_FAILED

    right_password = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD})

    assert right_password.status_code == 403
    assert _error(right_password)["code"] == "login_paused"
    assert svc.identity.get(customer).locked is False


# ---------------------------------------------------------------- customer: wallet and payments


def test_my_wallet_with_a_bearer_token(client, customer):
    token = _login(client)

    response = client.get("/api/v1/me/wallet", headers=_auth(token))

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": customer, "currency": "IDR", "tier": "basic", "balance": 150_000, "balance_cap": 2_000_000,
        "daily_outgoing": {"limit": 2_000_000, "used": 0, "remaining": 2_000_000,
                           "resets_at": "2026-11-26T00:00:00+07:00"},
        "monthly_incoming": {"limit": 20_000_000, "used": 150_000, "remaining": 19_850_000,
                             "resets_at": "2026-12-01T00:00:00+07:00"},
        "locked": False, "frozen": False,
    }


@pytest.mark.parametrize("path", ["/api/v1/me/wallet", "/api/v1/me/transactions"])
def test_me_routes_without_a_token_are_401_token_missing(client, path):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert _error(response) == {"code": "token_missing", "message": "a bearer token is required", "details": {}}


def test_me_routes_refuse_unknown_and_expired_sessions(client, customer, clock):
    token = _login(client)

    garbage = client.get("/api/v1/me/wallet", headers=_auth("not-a-session"))
    clock.advance(days=30)
    expired = client.get("/api/v1/me/wallet", headers=_auth(token))

    for response in (garbage, expired):
        assert response.status_code == 401
        assert _error(response)["code"] == "session_invalid"


def test_payment_with_an_idempotency_key_charges_once(client, customer, make_merchant, svc):
    # Given a logged-in customer with Rp 150.000 and a merchant
    merchant = make_merchant("Kopi Senja")
    token = _login(client)
    payment = {"merchant_id": merchant, "amount": 25_000, "pin": PIN}
    headers = {**_auth(token), "Idempotency-Key": "pay-0001"}

    # When the payment is posted, and the app retries it with the same key
    first = client.post("/api/v1/me/payments", json=payment, headers=headers)
    retry = client.post("/api/v1/me/payments", json=payment, headers=headers)

    # Then both answers are the same succeeded transaction
    assert first.status_code == retry.status_code == 200
    body = first.json()
    assert retry.json() == body
    assert (body["kind"], body["status"], body["amount"], body["currency"]) == ("payment", "succeeded", 25_000, "IDR")
    assert (body["merchant_id"], body["merchant_name"], body["method"]) == (merchant, "Kopi Senja", "qr")
    assert (body["failure_reason"], body["refundable_amount"]) == (None, 25_000)
    assert body["created_at"] == "2026-11-25T03:00:00+00:00"
    # And the money moved once
    wallet = client.get("/api/v1/me/wallet", headers=_auth(token)).json()
    assert wallet["balance"] == 125_000
    assert wallet["daily_outgoing"]["used"] == 25_000
    history = client.get("/api/v1/me/transactions", headers=_auth(token)).json()
    assert [(t["reference"], t["kind"]) for t in history["items"]] == [(body["reference"], "payment"),
                                                                        (history["items"][1]["reference"], "topup")]
    assert history["next"] is None


def test_the_same_key_for_a_different_payment_is_a_conflict(client, customer, make_merchant, svc):
    merchant = make_merchant()
    token = _login(client)
    headers = {**_auth(token), "Idempotency-Key": "pay-0002"}
    client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": 10_000, "pin": PIN}, headers=headers)
    before = ledger_snapshot(svc)

    response = client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": 20_000, "pin": PIN},
                           headers=headers)

    assert response.status_code == 409
    assert _error(response)["code"] == "idempotency_key_reused"
    assert ledger_snapshot(svc) == before


def test_payment_without_an_idempotency_key_is_422_and_changes_nothing(client, customer, make_merchant, svc):
    merchant = make_merchant()
    token = _login(client)
    before = ledger_snapshot(svc)

    response = client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": 25_000, "pin": PIN},
                           headers=_auth(token))

    assert response.status_code == 422
    assert _error(response)["details"] == {"problems": [{"field": "Idempotency-Key", "message": "Field required"}]}
    assert ledger_snapshot(svc) == before


@pytest.mark.parametrize("amount", [0, -1, "ten"])
def test_payment_with_an_invalid_amount_is_422_and_changes_nothing(client, customer, make_merchant, svc, amount):
    merchant = make_merchant()
    token = _login(client)
    before = ledger_snapshot(svc)

    response = client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": amount, "pin": PIN},
                           headers={**_auth(token), "Idempotency-Key": "pay-bad"})

    assert response.status_code == 422
    assert [p["field"] for p in _error(response)["details"]["problems"]] == ["amount"]
    assert ledger_snapshot(svc) == before


def test_payment_with_a_wrong_pin_is_a_recorded_failure_not_an_error(client, customer, make_merchant, svc):
    # Given a logged-in customer
    merchant = make_merchant()
    token = _login(client)
    before = ledger_snapshot(svc)

    # When they pay with a wrong PIN
    response = client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": 25_000, "pin": "111111"},
                           headers={**_auth(token), "Idempotency-Key": "pay-0003"})

    # Then the answer is 200 with a failed payment saying why
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["failure_reason"], body["amount"]) == ("failed", "PIN_INVALID", 25_000)
    assert body["failure_details"] == {"attempts_left": 4}
    assert body["refundable_amount"] == 0
    # And no money moved; only the failed row was added
    after = ledger_snapshot(svc)
    assert after["accounts"] == before["accounts"]
    assert after["transfers"] == before["transfers"]
    assert len(after["transactions"]) == len(before["transactions"]) + 1
    assert svc.identity.get(customer).failed_logins == 1


def test_topup_through_the_api_is_idempotent(client, customer):
    token = _login(client)
    headers = {**_auth(token), "Idempotency-Key": "top-0001"}

    first = client.post("/api/v1/me/topups", json={"amount": 50_000, "method": "bank_transfer"}, headers=headers)
    again = client.post("/api/v1/me/topups", json={"amount": 50_000, "method": "bank_transfer"}, headers=headers)
    bad_method = client.post("/api/v1/me/topups", json={"amount": 50_000, "method": "cash"},
                             headers={**_auth(token), "Idempotency-Key": "top-0002"})

    assert first.status_code == 200 and first.json()["status"] == "succeeded"
    assert again.json()["reference"] == first.json()["reference"]
    assert bad_method.status_code == 422
    assert client.get("/api/v1/me/wallet", headers=_auth(token)).json()["balance"] == 200_000


# ---------------------------------------------------------------- agent API


def test_agent_sees_a_customer_with_pii_masked(client, customer, svc):
    token = _agent_token(svc, "agent")

    response = client.get(f"/api/v1/customers/{customer}", headers=_auth(token))

    assert response.status_code == 200
    assert response.json() == {
        "id": customer, "name": "Customer 1", "phone": "0812****0001", "email": "c***1@example.com",
        "id_number": "****0001", "language": "en", "locked": False, "frozen": False, "failed_logins": 0,
    }
    assert PHONE not in response.text and NIK not in response.text


def test_agent_sees_the_wallet_and_pages_through_transactions(client, customer, make_merchant, svc):
    merchant = make_merchant()
    svc.wallet.pay_merchant(customer, merchant, 5_000, "p-1")
    svc.wallet.pay_merchant(customer, merchant, 7_000, "p-2")
    token = _agent_token(svc, "agent")

    wallet = client.get(f"/api/v1/customers/{customer}/wallet", headers=_auth(token))
    page1 = client.get(f"/api/v1/customers/{customer}/transactions?limit=2", headers=_auth(token)).json()
    page2 = client.get(f"/api/v1/customers/{customer}/transactions?limit=2&before={page1['next']}",
                       headers=_auth(token)).json()

    assert wallet.json()["balance"] == 138_000
    assert [t["amount"] for t in page1["items"]] == [7_000, 5_000]
    assert page1["next"] == page1["items"][-1]["reference"]
    assert [(t["kind"], t["amount"]) for t in page2["items"]] == [("topup", 150_000)]
    assert page2["next"] is None


def test_reveal_needs_the_pii_reveal_permission(client, customer, svc):
    # Given an agent (role "agent" does not hold pii.reveal)
    token = _agent_token(svc, "agent")

    # When they ask for the clear details
    response = client.post(f"/api/v1/customers/{customer}/reveal", json={"reason": "customer called about a payment"},
                           headers=_auth(token))

    # Then it is refused, and nothing was revealed or audited
    assert response.status_code == 403
    assert _error(response) == {"code": "permission_denied", "message": "this needs the pii.reveal permission",
                                "details": {"permission": "pii.reveal"}}
    assert PHONE not in response.text
    assert _audit(svc, "pii.revealed") == []


def test_supervisor_reveals_clear_pii_and_the_reason_is_audited(client, customer, svc, clock):
    # Given a supervisor
    token = _agent_token(svc, "supervisor")
    supervisor = svc.agents.get_by_email("supervisor@gopay.test")

    # When they reveal the customer's details, saying why
    response = client.post(f"/api/v1/customers/{customer}/reveal",
                           json={"reason": "caller verified; confirming phone for refund"}, headers=_auth(token))

    # Then the phone and email come back in clear
    assert response.status_code == 200
    assert response.json() == {"phone": PHONE, "email": "customer1@example.com"}
    # And exactly one audit row says who, about whom, when and why
    rows = _audit(svc, "pii.revealed")
    assert [(r.actor_type, r.actor_id, r.subject_type, r.subject_id, r.reason, r.at) for r in rows] == [
        ("agent", str(supervisor.id), "customer", str(customer), "caller verified; confirming phone for refund",
         clock.now())]


@pytest.mark.parametrize("body", [{}, {"reason": "why"}, {"reason": "x" * 201}])
def test_reveal_without_a_proper_reason_is_422_and_not_audited(client, customer, svc, body):
    token = _agent_token(svc, "supervisor")

    response = client.post(f"/api/v1/customers/{customer}/reveal", json=body, headers=_auth(token))

    assert response.status_code == 422
    assert [p["field"] for p in _error(response)["details"]["problems"]] == ["reason"]
    assert _audit(svc, "pii.revealed") == []


def test_a_blank_reason_is_refused_by_the_service_too(client, customer, svc):
    token = _agent_token(svc, "supervisor")

    response = client.post(f"/api/v1/customers/{customer}/reveal", json={"reason": "       "}, headers=_auth(token))

    assert response.status_code == 422
    assert _error(response)["details"] == {"field": "reason"}
    assert _audit(svc, "pii.revealed") == []


def test_agent_freezes_an_account_and_payments_stop(client, customer, make_merchant, svc):
    # Given an agent (holds account.freeze) and a logged-in customer
    merchant = make_merchant()
    token = _agent_token(svc, "agent")
    agent = svc.agents.get_by_email("agent@gopay.test")
    customer_token = _login(client)

    # When the agent freezes the account
    response = client.post(f"/api/v1/customers/{customer}/freeze", json={"reason": "customer reports stolen phone"},
                           headers=_auth(token))

    # Then the account and the wallet are frozen, and it is audited
    assert response.status_code == 200
    assert response.json()["frozen"] is True
    assert response.json()["phone"] == "0812****0001"
    assert client.get("/api/v1/me/wallet", headers=_auth(customer_token)).json()["frozen"] is True
    rows = _audit(svc, "account.frozen")
    assert [(r.actor_type, r.actor_id, r.subject_id, r.reason) for r in rows] == [
        ("agent", str(agent.id), str(customer), "customer reports stolen phone")]
    # And a payment now fails without moving money
    before = ledger_snapshot(svc)
    paid = client.post("/api/v1/me/payments", json={"merchant_id": merchant, "amount": 1_000, "pin": PIN},
                       headers={**_auth(customer_token), "Idempotency-Key": "after-freeze"})
    assert (paid.json()["status"], paid.json()["failure_reason"]) == ("failed", "ACCOUNT_FROZEN")
    assert ledger_snapshot(svc)["accounts"] == before["accounts"]

    # When it is frozen again
    again = client.post(f"/api/v1/customers/{customer}/freeze", json={"reason": "second report"},
                        headers=_auth(token))

    # Then nothing changes and no second audit row is written
    assert again.status_code == 200 and again.json()["frozen"] is True
    assert len(_audit(svc, "account.frozen")) == 1


def test_freeze_needs_a_reason(client, customer, svc):
    token = _agent_token(svc, "agent")

    response = client.post(f"/api/v1/customers/{customer}/freeze", json={"reason": "x"}, headers=_auth(token))

    assert response.status_code == 422
    assert svc.identity.get(customer).frozen is False


def _failed_provider_payment(svc: Services, customer: int, merchant: int) -> str:
    """A payment whose money left the wallet, then the provider reported a failure."""
    pending = svc.wallet.pay_merchant(customer, merchant, 40_000, "online-1", channel="online", via_provider=True)
    failed = svc.wallet.complete(pending.reference, succeeded=False, failure_reason="PROVIDER_TIMEOUT")
    assert failed.status == "failed"
    return pending.reference


def test_supervisor_reverses_a_failed_payment_once(client, customer, make_merchant, svc):
    # Given a failed provider payment that took Rp 40.000
    reference = _failed_provider_payment(svc, customer, make_merchant())
    assert svc.wallet.summary(customer).balance == 110_000
    token = _agent_token(svc, "supervisor")
    headers = {**_auth(token), "Idempotency-Key": "rev-0001"}

    # When a supervisor reverses it, and the request is retried
    first = client.post(f"/api/v1/transactions/{reference}/reverse", headers=headers, json=REVERSE)
    retry = client.post(f"/api/v1/transactions/{reference}/reverse", headers=headers, json=REVERSE)

    # Then the money is back, once
    assert first.status_code == retry.status_code == 200
    body = first.json()
    assert retry.json()["reference"] == body["reference"]
    assert (body["kind"], body["status"], body["amount"], body["original_reference"]) == (
        "reversal", "succeeded", 40_000, reference)
    assert svc.wallet.summary(customer).balance == 150_000
    assert svc.wallet.get_transaction(reference).status == "reversed"
    # And it is audited once, as this supervisor's, with the reason given
    with svc.db.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "wallet.reversed")).all()
    assert [(e.actor_type, e.subject_id, e.reason) for e in entries] == [
        ("agent", reference, REVERSE["reason"])]


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "x" * 201}, {"reason": 7}])
def test_a_reversal_without_a_reason_is_refused(client, customer, make_merchant, svc, body):
    reference = _failed_provider_payment(svc, customer, make_merchant())
    token = _agent_token(svc, "supervisor")
    before = ledger_snapshot(svc)

    response = client.post(f"/api/v1/transactions/{reference}/reverse",
                           headers={**_auth(token), "Idempotency-Key": "rev-0005"}, json=body)

    assert response.status_code == 422
    assert ledger_snapshot(svc) == before


def test_reverse_needs_the_wallet_reverse_permission(client, customer, make_merchant, svc):
    reference = _failed_provider_payment(svc, customer, make_merchant())
    token = _agent_token(svc, "agent")
    before = ledger_snapshot(svc)

    response = client.post(f"/api/v1/transactions/{reference}/reverse",
                           headers={**_auth(token), "Idempotency-Key": "rev-0002"}, json=REVERSE)

    assert response.status_code == 403
    assert _error(response)["details"] == {"permission": "wallet.reverse"}
    assert ledger_snapshot(svc) == before


def test_a_succeeded_payment_cannot_be_reversed(client, customer, make_merchant, svc):
    paid = svc.wallet.pay_merchant(customer, make_merchant(), 10_000, "p-ok")
    token = _agent_token(svc, "supervisor")
    before = ledger_snapshot(svc)

    response = client.post(f"/api/v1/transactions/{paid.reference}/reverse",
                           headers={**_auth(token), "Idempotency-Key": "rev-0003"}, json=REVERSE)
    unknown = client.post("/api/v1/transactions/GP000000NOPE/reverse",
                          headers={**_auth(token), "Idempotency-Key": "rev-0004"}, json=REVERSE)
    no_key = client.post(f"/api/v1/transactions/{paid.reference}/reverse", headers=_auth(token), json=REVERSE)

    assert response.status_code == 409
    assert _error(response)["code"] == "not_reversible"
    assert unknown.status_code == 404
    assert _error(unknown)["code"] == "not_found"
    assert no_key.status_code == 422
    assert ledger_snapshot(svc) == before


def test_unknown_customer_is_404(client, svc):
    token = _agent_token(svc, "supervisor")

    response = client.get("/api/v1/customers/999999", headers=_auth(token))
    revealed = client.post("/api/v1/customers/999999/reveal", json={"reason": "looking for a caller"},
                           headers=_auth(token))
    not_a_number = client.get("/api/v1/customers/abc", headers=_auth(token))

    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "customer not found",
                                "details": {"customer_id": 999999}}
    assert revealed.status_code == 404
    assert _audit(svc, "pii.revealed") == []
    assert not_a_number.status_code == 422


def test_agent_api_refuses_missing_garbage_and_customer_tokens(client, customer, svc):
    customer_token = _login(client)

    missing = client.get(f"/api/v1/customers/{customer}")
    garbage = client.get(f"/api/v1/customers/{customer}", headers=_auth("gpc_garbage"))
    as_customer = client.get(f"/api/v1/customers/{customer}", headers=_auth(customer_token))

    assert missing.status_code == 401 and _error(missing)["code"] == "token_missing"
    for response in (garbage, as_customer):
        assert response.status_code == 401
        error = _error(response)
        assert (error["code"], error["details"]) == ("token_invalid", {})


def test_agent_token_does_not_open_the_customer_api(client, customer, svc):
    token = _agent_token(svc, "admin")

    response = client.get("/api/v1/me/wallet", headers=_auth(token))

    assert response.status_code == 401
    assert _error(response)["code"] == "session_invalid"


def test_revoked_token_and_deactivated_agent_are_refused(client, customer, svc):
    # Given two working tokens of two agents
    revoked = _agent_token(svc, "agent")
    inactive = _agent_token(svc, "supervisor")
    assert client.get(f"/api/v1/customers/{customer}", headers=_auth(revoked)).status_code == 200
    assert client.get(f"/api/v1/customers/{customer}", headers=_auth(inactive)).status_code == 200

    # When one token is revoked and the other agent deactivated
    with svc.db.transaction() as s:
        s.execute(text("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE agent_id = "
                       "(SELECT id FROM agents WHERE email = 'agent@gopay.test')"))
        s.execute(text("UPDATE agents SET active = false WHERE email = 'supervisor@gopay.test'"))

    # Then both are refused
    for token in (revoked, inactive):
        response = client.get(f"/api/v1/customers/{customer}", headers=_auth(token))
        assert response.status_code == 401
        assert _error(response)["code"] == "token_invalid"
