"""The customer's live chat socket: messages arrive in order, once; a reconnect gets exactly what it
missed; a resend is stored once; another customer's conversation and a bad token are refused; a
bad frame is answered with an error and changes nothing."""

from __future__ import annotations

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.conftest import PASSWORD
from tests.helpers import chat_frames as frames
from tests.helpers import open_socket

PHONE = "+6281234567890"
OTHER = "+6281277776666"


@pytest.fixture
def chat(svc, client, make_customer, bot):
    svc._assistant = bot
    make_customer(phone=PHONE)

    def login(phone=PHONE):
        return client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD}).json()["token"]

    return login


def seqs(got: list[dict]) -> list[int]:
    return [f["seq"] for f in got if f["type"] == "message"]


def test_a_message_is_acknowledged_and_the_conversation_arrives_in_order(svc, client, chat):
    with open_socket(client, "/api/v1/me/chat/ws", chat()) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "my payment failed, why?"})
        got = frames(ws, messages=2, acks=1)

    ack = next(f for f in got if f["type"] == "ack")
    mine, reply = [f for f in got if f["type"] == "message"]
    assert ack["client_id"] == "c-1"
    assert seqs(got) == [1, 2]
    assert (mine["client_id"], mine["direction"], mine["body"]) == ("c-1", "in", "my payment failed, why?")
    assert (reply["direction"], reply["author_type"]) == ("out", "bot")
    assert reply["conversation_id"] == ack["conversation_id"]


def test_a_reconnect_gets_exactly_what_it_missed_and_a_resend_is_stored_once(svc, client, chat, supervisor):
    token = chat()
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "saldo saya hilang"})
        got = frames(ws, messages=2, acks=1)
    conversation_id = got[-1]["conversation_id"]
    ticket_id = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE,
                                               body="halo?", provider_message_id="app-away-1").ticket_id
    svc.desk.conversations.reply(supervisor, ticket_id, "Kami cek ya, Bu", internal=True)  # never seen
    svc.desk.conversations.reply(supervisor, ticket_id, "Sudah kami kembalikan")

    with open_socket(client, "/api/v1/me/chat/ws", token, conversation_id=conversation_id, after=2) as ws:
        missed = frames(ws, messages=2)
        ws.send_json({"type": "message", "client_id": "c-1", "body": "saldo saya hilang"})  # the app resends
        assert frames(ws, messages=0, acks=1)[-1]["type"] == "ack"

    assert seqs(missed) == [3, 4]
    assert [f["body"] for f in missed] == ["halo?", "Sudah kami kembalikan"]
    page = client.get(f"/api/v1/me/conversations/{conversation_id}/messages",
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert [m["seq"] for m in page["items"]] == [1, 2, 3, 4]
    assert [m["body"] for m in page["items"]].count("saldo saya hilang") == 1


def test_an_agents_reply_arrives_while_the_app_is_open(svc, client, chat, supervisor):
    with open_socket(client, "/api/v1/me/chat/ws", chat()) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "saldo saya hilang"})
        got = frames(ws, messages=2, acks=1)
        conversation_id = got[-1]["conversation_id"]
        ticket_id = svc.desk.conversations.messages(supervisor, _ticket_of(svc, conversation_id))[0].ticket_id
        svc.desk.conversations.reply(supervisor, ticket_id, "Halo Bu, kami bantu cek")
        [live] = [f for f in frames(ws, messages=1) if f["type"] == "message"]
        ws.send_json({"type": "read", "up_to": live["seq"]})
        ws.send_json({"type": "message", "client_id": "c-2", "body": "terima kasih"})
        frames(ws, messages=0, acks=1)  # the read frame was taken before this ack

    assert (live["seq"], live["author_type"], live["body"]) == (3, "agent", "Halo Bu, kami bantu cek")
    read = client.get(f"/api/v1/me/conversations/{conversation_id}/messages?after=2",
                      headers={"Authorization": f"Bearer {chat()}"}).json()["items"][0]
    assert read["delivery_status"] == "read"


def _ticket_of(svc, conversation_id):
    with svc.db.read() as s:
        from gopaycare.desk.models import Conversation
        return s.get(Conversation, conversation_id).ticket_id


def test_a_bad_token_or_another_customers_conversation_is_refused(svc, client, chat, make_customer):
    with open_socket(client, "/api/v1/me/chat/ws", chat()) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "halo"})
        conversation_id = frames(ws, messages=1, acks=1)[-1]["conversation_id"]
    make_customer(phone=OTHER)
    for token, query, code in (("nope", {}, 4401),
                               (chat(OTHER), {"conversation_id": conversation_id}, 4404),
                               (chat(OTHER), {"conversation_id": 2**70}, None),
                               (chat(OTHER), {"after": -1}, None),
                               (chat(OTHER), {"colour": "red"}, None)):
        with pytest.raises(WebSocketDisconnect) as refused, open_socket(client, "/api/v1/me/chat/ws", token,
                                                                         **query) as ws:
            ws.receive_json()
        if code is not None:
            assert refused.value.code == code


@pytest.mark.parametrize("frame", [
    "not json", "[1]", "{" * 5000, json.dumps({"type": "message"}), json.dumps({"type": "shout", "body": "x"}),
    json.dumps({"type": "message", "client_id": "c 1", "body": "x"}),
    json.dumps({"type": "message", "client_id": "c-9", "body": "x" * 4001}),
    json.dumps({"type": "message", "client_id": "c-9", "body": "sal\x00do"}),
    json.dumps({"type": "message", "client_id": "c-9", "body": 12}),
    json.dumps({"type": "read", "up_to": 2**70}), json.dumps({"type": "read", "up_to": "one"}),
    json.dumps({"type": "message", "client_id": "c-9", "body": "x", "pad": "y" * 20_000}),
])
def test_a_bad_frame_is_answered_with_an_error_and_changes_nothing(svc, client, chat, frame):
    with open_socket(client, "/api/v1/me/chat/ws", chat()) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "halo"})
        conversation_id = frames(ws, messages=2, acks=1)[-1]["conversation_id"]
        before = _bodies(svc, conversation_id)
        ws.send_text(frame)
        error = ws.receive_json()
        ws.send_json({"type": "read", "up_to": 1})  # the socket still works
        ws.send_json({"type": "message", "client_id": "c-1", "body": "halo"})
        assert frames(ws, messages=0, acks=1)[-1]["type"] == "ack"

    assert error["type"] == "error" and error["code"] == "validation_failed"
    assert _bodies(svc, conversation_id) == before


def _bodies(svc, conversation_id):
    from sqlalchemy import select

    from gopaycare.desk.models import Message
    with svc.db.read() as s:
        return list(s.scalars(select(Message.body).where(Message.conversation_id == conversation_id)
                              .order_by(Message.id)))
