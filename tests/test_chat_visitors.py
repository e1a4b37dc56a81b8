"""Anonymous web visitors: a signed visitor token (forged, altered, expired: 4401), bounded issue,
the same socket and HTTP fallback, a "web" conversation with a visitor contact, no account data
before the visitor proves who they are, and no one else's conversation ever."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from gopaycare.desk.models import Contact, ContactIdentity, Conversation, Ticket
from gopaycare.identity.visitors import VisitorTokens
from gopaycare.platform import catalog
from gopaycare.platform.audit import Actor
from tests.conftest import PASSWORD
from tests.helpers import chat_frames, codes_to, open_socket

PHONE = "+6281234567890"


@pytest.fixture
def visitor(svc, client, bot):
    svc._assistant = bot

    def new() -> str:
        response = client.post("/api/v1/chat/visitors", json={})
        assert response.status_code == 201
        return response.json()["token"]

    return new


def _say(ws, text: str, n: int) -> list[dict]:
    ws.send_json({"type": "message", "client_id": f"v-{n}", "body": text, "language": "id"})
    return [f for f in chat_frames(ws, messages=2, acks=1) if f["type"] == "message"]


def _altered(token: str) -> str:
    """The token with its signature's last character changed (always to another one)."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_a_visitor_chats_on_the_web_channel_and_sees_no_account_before_proving_who_they_are(
        svc, client, visitor, make_customer):
    make_customer(phone=PHONE, balance=123_456)
    token = visitor()
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        asked = _say(ws, "berapa batas transaksi harian saya", 1)
        phone = _say(ws, PHONE, 2)
        [code] = re.findall(r"\b\d{6}\b", codes_to(svc, PHONE)[-1].body)
        proved = _say(ws, code, 3)
    conversation_id = asked[0]["conversation_id"]

    assert asked[1]["body"] == catalog.text("assistant", "need_identify", "id")
    assert phone[1]["body"].startswith("Jika ") and "kode sudah dikirim" in phone[1]["body"]
    assert not any("Rp" in m["body"] or "123.456" in m["body"] for m in asked + phone)
    assert "Rp123.456" in proved[1]["body"]  # the balance, once the code to the registered phone came back
    with svc.db.read() as s:
        conversation = s.get(Conversation, conversation_id)
        assert (conversation.channel, conversation.channel_thread.startswith("visitor:")) == ("web", True)
        assert s.get(Ticket, conversation.ticket_id).channel == "web"
        kinds = s.scalars(select(ContactIdentity.kind).join(Contact, Contact.id == ContactIdentity.contact_id)
                          .where(Contact.id == conversation.contact_id)).all()
        assert "visitor" in kinds  # the visitor's contact, now the customer's


def test_the_visitor_reads_their_own_conversation_over_http_and_no_one_elses(svc, client, visitor, make_customer):
    make_customer(phone=PHONE)
    token, stranger = visitor(), visitor()
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        conversation_id = _say(ws, "halo", 1)[0]["conversation_id"]
    customer = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]

    def get(who: str, path: str = f"/api/v1/me/conversations/{conversation_id}/messages"):
        return client.get(path, headers={"Authorization": f"Bearer {who}"})

    mine = get(token)
    read = client.post(f"/api/v1/me/conversations/{conversation_id}/read", json={"up_to": 2},
                       headers={"Authorization": f"Bearer {token}"})
    assert [m["seq"] for m in mine.json()["items"]] == [1, 2]
    assert read.json() == {"read": 1}  # the web chat's read receipt, like the app's
    assert [c["channel"] for c in get(token, "/api/v1/me/conversations").json()["items"]] == ["web"]
    assert get(stranger).status_code == get(customer).status_code == 404
    assert get(stranger, "/api/v1/me/conversations").json()["items"] == []
    assert client.get("/api/v1/me/wallet", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    for other in (stranger, customer):
        with pytest.raises(WebSocketDisconnect) as refused, \
                open_socket(client, "/api/v1/me/chat/ws", other, conversation_id=conversation_id) as ws:
            ws.receive_json()
        assert refused.value.code == 4404


def test_a_forged_altered_or_expired_visitor_token_is_refused_with_4401(svc, client, visitor):
    token = visitor()
    prefix, visitor_id, expires, signature = token.split(".")
    forged = VisitorTokens("another-secret", svc.clock, timedelta(days=7)).issue(visitor_id).token
    altered = [f"{prefix}.{visitor_id}.{int(expires) + 3600}.{signature}",
               f"{prefix}.{visitor_id[:-1]}{'A' if visitor_id[-1] != 'A' else 'B'}.{expires}.{signature}",
               _altered(token),
               "gpv.", "gpv." + "x" * 5000, f"{token}.", forged]
    for bad in altered:
        with pytest.raises(WebSocketDisconnect) as refused, \
                open_socket(client, "/api/v1/me/chat/ws", bad) as ws:
            ws.receive_json()
        assert refused.value.code == 4401, bad
        assert client.get("/api/v1/me/conversations", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    svc.clock.advance(days=7, seconds=1)
    with pytest.raises(WebSocketDisconnect) as expired, open_socket(client, "/api/v1/me/chat/ws", token):
        pass
    assert expired.value.code == 4401


def test_a_token_is_renewed_for_the_same_visitor_and_a_bad_one_is_not(svc, client, visitor):
    token = visitor()
    svc.clock.advance(days=3)
    renewed = client.post("/api/v1/chat/visitors", json={"token": token})
    forged = client.post("/api/v1/chat/visitors", json={"token": _altered(token)})
    svc.clock.advance(days=5)  # the first has expired, the renewed one has not

    assert renewed.status_code == 201 and renewed.json()["token"].split(".")[1] == token.split(".")[1]
    assert renewed.json()["expires_at"] == (svc.clock.now() - timedelta(days=5) + timedelta(days=7)).isoformat()
    assert forged.status_code == 401
    assert client.get("/api/v1/me/conversations", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/me/conversations",
                      headers={"Authorization": f"Bearer {renewed.json()['token']}"}).status_code == 200


@pytest.mark.parametrize("body", [{"token": 12}, {"token": "x" * 201}, {"token": "gpv.\x00"}, {"token": ["gpv."]},
                                  [1], "gpv.abc", None, {"token": "gpv.AAAAAAAAAAAAAAAAAAAAAA.99999999999.x"}])
def test_a_hostile_visitor_request_is_refused_and_stores_nothing(svc, client, body):
    response = client.post("/api/v1/chat/visitors", json=body)
    assert response.status_code in (401, 422)
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0


def test_tokens_are_issued_a_bounded_number_of_times_per_address_and_store_nothing(svc, client):
    limit = svc.settings.visitor_tokens_per_minute
    answers = [client.post("/api/v1/chat/visitors", json={}).status_code for _ in range(limit + 2)]
    svc.clock.advance(seconds=61)
    later = client.post("/api/v1/chat/visitors", json={})

    assert answers == [201] * limit + [429, 429]
    assert later.status_code == 201
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_visitor_who_logs_in_goes_on_in_the_same_conversation_only_with_both_tokens(svc, client, visitor,
                                                                                     make_customer):
    make_customer(phone=PHONE, balance=123_456)
    token, stranger = visitor(), visitor()
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        conversation_id = _say(ws, "halo", 1)[0]["conversation_id"]
    session = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]
    refused = []
    altered = _altered(token)
    for main, beside in ((session, altered),
                         (session, stranger),  # not that visitor's
                         (token, token),  # no session
                         (session, None)):  # no visitor token
        with pytest.raises(WebSocketDisconnect) as closed, open_socket(
                client, "/api/v1/me/chat/ws", main, visitor_token=beside, conversation_id=conversation_id) as ws:
            ws.receive_json()
        refused.append(closed.value.code)

    with open_socket(client, "/api/v1/me/chat/ws", session, visitor_token=token, conversation_id=conversation_id) as ws:
        earlier = chat_frames(ws, messages=2)
        ws.send_json({"type": "message", "client_id": "c-1", "body": "berapa batas transaksi harian saya",
                      "language": "id"})
        went_on = chat_frames(ws, messages=2, acks=1)
    mine = client.get("/api/v1/me/conversations", headers={"Authorization": f"Bearer {session}"}).json()["items"]

    assert refused[0] == 4401 and refused[1:] == [4404, 4422, 4404]
    assert [m["seq"] for m in earlier if m["type"] == "message"] == [1, 2]
    ack = next(f for f in went_on if f["type"] == "ack")
    assert ack["conversation_id"] == conversation_id  # the same web conversation, not a new app chat
    assert "Rp123.456" in [f for f in went_on if f["type"] == "message"][-1]["body"]  # known: no code asked
    assert [(c["id"], c["channel"]) for c in mine] == [(conversation_id, "web")]


def test_a_visitor_already_proved_to_be_someone_else_cannot_be_claimed(svc, client, visitor, make_customer):
    first = make_customer(phone=PHONE)
    make_customer(phone="+6281277776666")
    token = visitor()
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        conversation_id = _say(ws, "halo", 1)[0]["conversation_id"]
    svc.desk.conversations.claim("visitor", token.split(".")[1], first, actor=Actor.system())
    other = client.post("/api/v1/auth/login", json={"login": "+6281277776666", "password": PASSWORD}).json()["token"]

    with pytest.raises(WebSocketDisconnect) as closed, \
            open_socket(client, "/api/v1/me/chat/ws", other, visitor_token=token) as ws:
        ws.receive_json()

    assert closed.value.code == 4409
    assert client.get(f"/api/v1/me/conversations/{conversation_id}/messages",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 404


def test_two_tabs_claiming_one_visitor_at_once_both_go_on(svc, visitor, make_customer):
    # Given a customer who logs in on two tabs of the widget at once, each with the visitor's token
    from tests.helpers import race

    customer = make_customer(phone=PHONE)
    visitor_id = visitor().split(".")[1]

    # When both claim the visitor's address at the same moment (the second insert loses the race)
    results = race(*(lambda: svc.desk.conversations.claim("visitor", visitor_id, customer, actor=Actor.system())
                     for _ in range(2)))

    # Then neither fails, and the address is the customer's once
    assert results == [None, None]
    with svc.db.read() as s:
        owners = s.scalars(select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == "visitor", ContactIdentity.value == visitor_id)).all()
        assert len(owners) == 1 and s.get(Contact, owners[0]).customer_id == customer
