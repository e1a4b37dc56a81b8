"""WhatsApp Cloud API: Meta's handshake, signed webhooks with messages and delivery statuses, and
replies through a fake Graph API on loopback that checks the token and the request's shape."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_api import FakeApi, serve
from tests.helpers import api_client, assisted_services

APP_SECRET = "wa-app-secret"
VERIFY_TOKEN = "wa-verify-token"
ACCESS_TOKEN = "EAAG-wa-access-token"
NUMBER_ID = "106540352242922"
PHONE = "+6281234567890"
CJK = re.compile(r"[\u4e00-\u9fff]")


class Graph:
    """The fake Graph API's answers: a wamid per message, or a given error."""

    def __init__(self) -> None:
        self.error: tuple[int, int, str] | None = None  # HTTP status, Graph error code, message
        self.window_closed = False  # the customer wrote over 24 hours ago: only templates pass
        self.sent = 0

    def __call__(self, request) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
        if not re.fullmatch(r"/v\d+\.\d+/\d+/messages", request.path):
            return 404, {"error": {"message": "Unknown path", "code": 803}}
        body = request.json()
        if body.get("messaging_product") != "whatsapp" or body.get("type") not in ("text", "template") \
                or not body["to"].isdigit():
            return 400, {"error": {"message": "Invalid parameter", "code": 100}}
        if body["type"] == "text" and self.window_closed:
            return 400, {"error": {"message": "Re-engagement message", "type": "OAuthException", "code": 131047}}
        if body["type"] == "template" and not template_shape(body["template"]):
            return 400, {"error": {"message": "Invalid parameter", "code": 132000}}
        if self.error:
            status, code, message = self.error
            return status, {"error": {"message": message, "type": "OAuthException", "code": code}}
        self.sent += 1
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                     "messages": [{"id": f"wamid.OUT{self.sent}"}]}


def template_shape(template: Any) -> bool:
    """Meta's template message: a name, a language code, and body parameters of type text."""
    try:
        [component] = template["components"]
        return (isinstance(template["name"], str) and re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?",
                                                                   template["language"]["code"]) is not None
                and component["type"] == "body" and all(p["type"] == "text" and p["text"]
                                                        for p in component["parameters"]))
    except (KeyError, TypeError, ValueError):
        return False


@pytest.fixture
def graph() -> Iterator[tuple[FakeApi, Graph]]:
    answers = Graph()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def wa_svc(settings, clock, graph, product_nlu) -> Iterator[Any]:
    api, _ = graph
    with assisted_services(settings.model_copy(update={
        "whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_access_token": ACCESS_TOKEN, "whatsapp_api_base": api.base_url}), clock, product_nlu) as services:
        yield services


@pytest.fixture
def wa_client(wa_svc) -> Iterator[Any]:
    with api_client(wa_svc) as client:
        yield client


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "6281100000000", "phone_number_id": NUMBER_ID}, **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]}


def text_message(wamid: str, body: str, phone: str = PHONE) -> dict[str, Any]:
    wa_id = phone.lstrip("+")
    return envelope({"contacts": [{"profile": {"name": "Wang Xiaoming"}, "wa_id": wa_id}],
                     "messages": [{"from": wa_id, "id": wamid, "timestamp": "1765000000", "type": "text",
                                   "text": {"body": body}}]})


def status(wamid: str, state: str, **extra: Any) -> dict[str, Any]:
    return envelope({"statuses": [{"id": wamid, "status": state, "timestamp": "1765000100",
                                   "recipient_id": PHONE.lstrip("+"), **extra}]})


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(client, payload: Any, *, signature: str | None = "sign", raw: bytes | None = None):
    raw = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = sign(raw) if signature == "sign" else signature
    return client.post("/webhooks/whatsapp", content=raw, headers=headers)


def replies(svc) -> list[Any]:
    return [m for m in svc.outbox.latest(limit=50) if m.channel == "whatsapp" and m.purpose == "reply"]


def agent_token(svc) -> str:
    svc.agents.create("lead@gopay.test", "supervisor")
    return svc.agents.create_token("lead@gopay.test")


def test_meta_handshake_echoes_the_challenge_only_for_our_token(wa_client):
    ok = wa_client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                     "hub.challenge": "1158201444"})
    wrong = wa_client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                        "hub.challenge": "1158201444"})
    missing = wa_client.get("/webhooks/whatsapp")
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403 and missing.status_code == 403


def test_a_customer_asks_on_whatsapp_and_the_answer_comes_back_from_the_same_number(
        wa_svc, wa_client, graph, make_customer):
    api, _ = graph
    make_customer(phone=PHONE, name="Wang Xiaoming", language="zh-CN")
    answer = post(wa_client, text_message("wamid.IN1", "我的付款为什么失败了"))
    again = post(wa_client, text_message("wamid.IN1", "我的付款为什么失败了"))

    assert answer.json() == {"stored": 1, "duplicates": 0} and again.json() == {"stored": 0, "duplicates": 1}
    token = agent_token(wa_svc)
    listed = wa_client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    [conversation] = listed.json()["items"]
    assert conversation["channel"] == "whatsapp"
    assert len(api.requests) >= 1
    sent = api.requests[0]
    assert sent.path == f"/v21.0/{NUMBER_ID}/messages"
    assert sent.json()["to"] == PHONE.lstrip("+")
    assert CJK.search(sent.json()["text"]["body"])
    assert {m.status for m in replies(wa_svc)} == {"sent"}


def test_statuses_move_the_reply_forward_only(wa_svc, wa_client, graph):
    post(wa_client, text_message("wamid.IN2", "my payment failed"))
    [reply] = replies(wa_svc)[-1:]
    wamid = reply.provider_message_id
    assert wamid.startswith("wamid.OUT")

    post(wa_client, status(wamid, "sent"))
    post(wa_client, status(wamid, "read"))
    post(wa_client, status(wamid, "delivered"))  # late and out of order

    [reply] = [m for m in replies(wa_svc) if m.provider_message_id == wamid]
    assert reply.status == "read"
    kinds = [e.payload.get("status") for e in wa_svc.desk.events.since(0, agent_id=0, team_ids=[], see_all=True)
             if e.kind == "message.delivery" and e.payload.get("message_id") == reply.source_id]
    assert kinds[-1] == "read"


def test_a_failure_reported_later_fails_the_reply_with_the_providers_reason(wa_svc, wa_client, graph):
    post(wa_client, text_message("wamid.IN3", "my payment failed"))
    [reply] = replies(wa_svc)[-1:]
    post(wa_client, status(reply.provider_message_id, "failed",
                           errors=[{"code": 131026, "title": "Message undeliverable"}]))
    [reply] = [m for m in replies(wa_svc) if m.id == reply.id]
    assert (reply.status, reply.last_error) == ("failed", "Message undeliverable")


def test_outside_the_24_hour_window_the_reply_fails_at_once(wa_svc, wa_client, graph):
    _, answers = graph
    answers.error = (400, 131047, "Re-engagement message")
    post(wa_client, text_message("wamid.IN4", "my payment failed"))
    [reply] = replies(wa_svc)[-1:]
    assert (reply.status, reply.attempts) == ("failed", 1)
    assert "131047" in reply.last_error


@pytest.mark.parametrize(("language", "code", "pointer"), [
    ("zh-CN", "zh_CN", "请回复此消息"), ("en", "en_US", "Reply to this message"), ("id", "id", "Balas pesan ini")])
def test_outside_the_window_the_follow_up_template_goes_instead(settings, clock, graph, product_nlu, make_customer,
                                                                language, code, pointer):
    api, answers = graph
    with assisted_services(settings.model_copy(update={
            "whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
            "whatsapp_access_token": ACCESS_TOKEN, "whatsapp_api_base": api.base_url,
            "whatsapp_followup_template": "care_followup",
            "whatsapp_template_languages": {"zh-CN": "zh_CN", "en": "en_US", "id": "id"}}),
            clock, product_nlu) as svc:
        svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp", identity_value=PHONE,
                                       body="hi", thread=NUMBER_ID, language=language)
        answers.window_closed = True
        clock.advance(hours=30)
        ticket_id = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                                   identity_value=PHONE, body="hi", thread=NUMBER_ID).ticket_id
        lead = svc.agents.create("lead@gopay.test", "supervisor")
        svc.desk.conversations.reply(svc.desk.viewer(lead), ticket_id, "Your refund was approved.")

        *_, refused, template = api.requests
        assert refused.json()["type"] == "text"
        sent = template.json()
        assert (sent["type"], sent["to"], template.path) == ("template", PHONE.lstrip("+"),
                                                             f"/v21.0/{NUMBER_ID}/messages")
        assert sent["template"]["name"] == "care_followup" and sent["template"]["language"] == {"code": code}
        [parameter] = sent["template"]["components"][0]["parameters"]
        assert pointer in parameter["text"] and "refund" not in parameter["text"]
        [reply] = replies(svc)[:1]
        assert (reply.status, reply.provider_message_id) == ("sent", f"wamid.OUT{answers.sent}")


def test_without_a_template_outside_the_window_the_refusal_stays(wa_svc, wa_client, graph):
    _, answers = graph
    answers.window_closed = True
    post(wa_client, text_message("wamid.IN7", "my payment failed"))
    [reply] = replies(wa_svc)[-1:]
    assert (reply.status, reply.attempts) == ("failed", 1) and "131047" in reply.last_error
    assert all(r.json()["type"] == "text" for r in graph[0].requests)


def test_a_rate_limit_is_tried_again_later(wa_svc, wa_client, graph, clock):
    _, answers = graph
    answers.error = (400, 130429, "Rate limit hit")
    post(wa_client, text_message("wamid.IN5", "my payment failed"))
    [reply] = replies(wa_svc)[-1:]
    assert (reply.status, reply.attempts) == ("queued", 1)
    answers.error = None
    clock.advance(seconds=31)
    wa_svc.tasks["sweep_outbox"]()
    [reply] = [m for m in replies(wa_svc) if m.id == reply.id]
    assert reply.status == "sent" and answers.sent == 1


@pytest.mark.parametrize(("signature", "status_code"), [
    (None, 401), ("sha256=" + "0" * 64, 403), (sign(b"another body"), 403), ("md5=abc", 403)])
def test_an_unsigned_or_forged_call_stores_nothing(wa_svc, wa_client, graph, signature, status_code):
    answer = post(wa_client, text_message("wamid.IN6", "hi"), signature=signature)
    assert answer.status_code == status_code
    assert wa_svc.intake.events() == [] and graph[0].requests == []


def test_a_media_message_keeps_its_caption_and_media_id(wa_svc, wa_client):
    payload = envelope({"messages": [{"from": PHONE.lstrip("+"), "id": "wamid.IMG", "type": "image",
                                      "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "struk"}}]})
    post(wa_client, payload)
    [event] = wa_svc.intake.events()
    message = event.event()
    assert message.body == "struk"
    assert message.attachments == [{"type": "image", "provider_id": "MEDIA1", "mime_type": "image/jpeg",
                                    "filename": None, "state": "pending"}]


@pytest.mark.parametrize("payload", [
    {"object": "page", "entry": []}, {"object": "whatsapp_business_account", "entry": "x"},
    envelope({"messages": [{"from": "not-a-number", "id": "w1", "type": "text", "text": {"body": "hi"}}]}),
    envelope({"messages": [{"from": 6281, "id": 10**40, "type": "text", "text": {"body": "hi"}}]}),
    envelope({"messages": "nope", "statuses": [{"id": "w2", "status": "exploded"}]}),
    envelope({"metadata": [], "contacts": {"a": 1}, "messages": [None, 3, "x"]}),
])
def test_hostile_payloads_are_ignored_never_5xx(wa_svc, wa_client, payload):
    answer = post(wa_client, payload)
    assert answer.status_code == 200 and answer.json()["stored"] == 0
    assert wa_svc.intake.events() == []


DEEP = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 5000


@pytest.mark.parametrize("raw", [b"not json", b"[]", DEEP])
def test_a_signed_body_that_is_not_a_json_object_answers_4xx(wa_svc, wa_client, raw):
    answer = post(wa_client, None, raw=raw)
    assert 400 <= answer.status_code < 500
    assert wa_svc.intake.events() == []
