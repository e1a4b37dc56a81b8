"""The help desk API over HTTP and WebSocket: every endpoint checks its permission on the server,
another agent's ticket answers 404, and the event stream resumes from the last id it saw."""

from __future__ import annotations

import pytest

from tests.helpers import open_socket

PHONE = "+6281234567890"


@pytest.fixture
def tokens(svc):
    made = {}
    for email, role in (("lead@gopay.test", "supervisor"), ("ayu@gopay.test", "agent"),
                        ("budi@gopay.test", "agent"), ("ops@gopay.test", "admin")):
        svc.agents.create(email, role, password="Agent-pass1")
        made[email.split("@")[0]] = svc.agents.create_token(email)
    return made


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def inbound(client, token, body="付款失败了 0812-3456-7890", phone=PHONE, **kw):
    response = client.post("/api/v1/inbound", headers=auth(token), json={
        "channel": kw.pop("channel", "chat"), "identity_kind": "phone", "identity_value": phone, "body": body, **kw})
    assert response.status_code == 202, response.text
    return response.json()


def test_inbound_needs_the_ingest_permission_and_is_idempotent(client, tokens):
    denied = client.post("/api/v1/inbound", headers=auth(tokens["lead"]), json={
        "channel": "chat", "identity_kind": "phone", "identity_value": PHONE, "body": "hi"})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")

    first = inbound(client, tokens["ops"], provider_message_id="m-1")
    again = inbound(client, tokens["ops"], provider_message_id="m-1")
    assert (again["duplicate"], again["message_id"]) == (True, first["message_id"])


def test_inbox_and_ticket_views_mask_customer_text(client, tokens):
    got = inbound(client, tokens["ops"])

    page = client.get("/api/v1/tickets", headers=auth(tokens["lead"]), params={"assignee": "none"}).json()
    messages = client.get(f"/api/v1/tickets/{got['ticket_id']}/messages", headers=auth(tokens["lead"])).json()

    assert [t["id"] for t in page["items"]] == [got["ticket_id"]]
    assert page["items"][0]["subject"] == "付款失败了 0812****7890"
    assert messages["items"][0]["body"] == "付款失败了 0812****7890"


def test_revealing_a_message_needs_pii_reveal_and_is_audited(client, tokens):
    got = inbound(client, tokens["ops"])
    url = f"/api/v1/tickets/{got['ticket_id']}/messages/{got['message_id']}/reveal"

    denied = client.post(url, headers=auth(tokens["ayu"]), json={"reason": "customer asked"})
    shown = client.post(url, headers=auth(tokens["lead"]), json={"reason": "verify caller's number"})

    assert denied.status_code == 403
    assert shown.json()["body"] == "付款失败了 0812-3456-7890"
    trail = client.get(f"/api/v1/tickets/{got['ticket_id']}/audit", headers=auth(tokens["lead"])).json()["items"]
    assert [(e["action"], e["reason"]) for e in trail if e["action"] == "pii.revealed"] == [
        ("pii.revealed", "verify caller's number")]


def test_another_agents_ticket_is_404_on_every_endpoint_and_nothing_changes(client, svc, tokens):
    got = inbound(client, tokens["ops"])
    budi = svc.agents.get_by_email("budi@gopay.test")
    assert client.post(f"/api/v1/tickets/{got['ticket_id']}/assign", headers=auth(tokens["lead"]),
                       json={"agent_id": budi.id}).status_code == 200
    tid = got["ticket_id"]
    calls = [("get", f"/api/v1/tickets/{tid}", None), ("patch", f"/api/v1/tickets/{tid}", {"priority": "high"}),
             ("post", f"/api/v1/tickets/{tid}/status", {"status": "solved"}),
             ("get", f"/api/v1/tickets/{tid}/messages", None),
             ("post", f"/api/v1/tickets/{tid}/messages", {"body": "hello"}),
             ("get", f"/api/v1/tickets/{tid}/audit", None),
             ("post", f"/api/v1/tickets/{tid}/links", {"kind": "transaction", "reference": "GP261125AAAA"})]
    before = client.get(f"/api/v1/tickets/{tid}", headers=auth(tokens["lead"])).json()

    for method, url, body in calls:
        response = client.request(method, url, headers=auth(tokens["ayu"]), json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), url

    assert client.get(f"/api/v1/tickets/{tid}", headers=auth(tokens["lead"])).json() == before
    assert len(client.get(f"/api/v1/tickets/{tid}/messages", headers=auth(tokens["lead"])).json()["items"]) == 1


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/conversations", "/api/v1/events",
                                  "/api/v1/search/tickets?q=x", "/api/v1/agent/me"])
def test_no_or_bad_token_is_401(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("gpc_nope")).json()["error"]["code"] == "token_invalid"


def test_reply_status_and_merge_through_the_api(client, tokens):
    first = inbound(client, tokens["ops"], body="payment failed")
    second = inbound(client, tokens["ops"], body="payment failed again", channel="email")
    headers = auth(tokens["lead"])

    assert client.post(f"/api/v1/tickets/{first['ticket_id']}/messages", headers=headers,
                       json={"body": "Checking now"}).status_code == 201
    merged = client.post(f"/api/v1/tickets/{second['ticket_id']}/merge", headers=headers,
                         json={"into": first["ticket_id"], "reason": "same payment"})
    solved = client.post(f"/api/v1/tickets/{first['ticket_id']}/status", headers=headers, json={"status": "solved"})
    refused = client.post(f"/api/v1/tickets/{first['ticket_id']}/merge", headers=auth(tokens["ayu"]),
                          json={"into": second["ticket_id"], "reason": "same thing"})

    assert merged.json()["id"] == first["ticket_id"]
    assert solved.json()["status"] == "solved"
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")


def test_customer_360_over_http(client, svc, tokens, make_customer):
    make_customer(phone=PHONE, balance=10_000)
    got = inbound(client, tokens["ops"])
    contact_id = client.get(f"/api/v1/tickets/{got['ticket_id']}", headers=auth(tokens["lead"])).json()["contact_id"]

    view = client.get(f"/api/v1/contacts/{contact_id}/360", headers=auth(tokens["ayu"])).json()

    assert view["wallet"]["balance"] == 10_000
    assert view["customer"]["phone"] == "0812****7890"


def test_agent_login_with_totp(client, svc):
    import pyotp

    agent = svc.agents.create("two@gopay.test", "agent", password="Agent-pass1")
    secret = svc.agents.enroll_totp(agent.id)

    missing = client.post("/api/v1/agent/login", json={"email": "two@gopay.test", "password": "Agent-pass1"})
    wrong = client.post("/api/v1/agent/login", json={"email": "two@gopay.test", "password": "Agent-pass1",
                                                     "totp_code": "000000"})
    code = pyotp.TOTP(secret).at(svc.clock.now())
    ok = client.post("/api/v1/agent/login", json={"email": "two@gopay.test", "password": "Agent-pass1",
                                                  "totp_code": code})

    assert missing.json()["error"]["code"] == "totp_required"
    assert wrong.status_code == 401
    token = ok.json()["token"]
    assert client.get("/api/v1/agent/me", headers=auth(token)).json()["email"] == "two@gopay.test"
    svc.clock.advance(hours=13)  # sessions expire after 12 hours
    assert client.get("/api/v1/agent/me", headers=auth(token)).status_code == 401


# ---------------------------------------------------------------- WebSocket


def _receive_until(ws, kind, ticket_id=None, limit=50):
    seen = []
    for _ in range(limit):
        event = ws.receive_json()
        seen.append(event)
        if event["kind"] == kind and (ticket_id is None or event["ticket_id"] == ticket_id):
            return seen
    raise AssertionError(f"no {kind} in {seen}")


def test_websocket_streams_and_resumes_without_gaps_or_repeats(client, svc, tokens):
    first = inbound(client, tokens["ops"], body="one")
    start = svc.desk.events.last_id()

    with open_socket(client, "/api/v1/events/ws", tokens['lead'], after=start) as ws:
        second = inbound(client, tokens["ops"], body="two", phone="+6281298765432")
        live = _receive_until(ws, "ticket.snapshot", second["ticket_id"])
    last_seen = live[-1]["id"]

    # While disconnected, more happens
    client.post(f"/api/v1/tickets/{first['ticket_id']}/messages", headers=auth(tokens["lead"]), json={"body": "hi"})
    third = inbound(client, tokens["ops"], body="three", phone="+6281311112222")
    expected = [e.id for e in svc.desk.events.since(last_seen, agent_id=0, team_ids=[], see_all=True)]

    with open_socket(client, "/api/v1/events/ws", tokens['lead'], after=last_seen) as ws:
        resumed = _receive_until(ws, "ticket.snapshot", third["ticket_id"])

    assert [e["id"] for e in live] == list(range(start + 1, last_seen + 1))
    assert [e["id"] for e in resumed] == expected
    assert len(set(e["id"] for e in live + resumed)) == len(live) + len(resumed)


def test_websocket_refuses_a_bad_token(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as exc, open_socket(client, "/api/v1/events/ws", "nope"):
        pass
    assert exc.value.code == 4401
