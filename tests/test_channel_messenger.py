"""Messenger and Instagram direct messages: Meta's handshake, signed webhooks with messages, echoes
and receipts, and replies through a fake Graph API (Send API) on loopback that checks the page token
and the request's shape."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gopaycare.platform.errors import NotFound
from tests.fake_api import FakeApi, serve
from tests.helpers import api_client, assisted_services

APP_SECRET = "fb-app-secret"
VERIFY_TOKEN = "fb-verify-token"
PAGE_TOKEN = "EAAB-page-token"
PAGE_ID = "104000000000001"
IG_ACCOUNT = "17841400000000001"
PSID = "6543210987654321"
IGSID = "3456789012345678"
CJK = re.compile(r"[\u4e00-\u9fff]")


class Graph:
    """The fake Graph API's answers: a mid per message, or a given error."""

    def __init__(self) -> None:
        self.error: tuple[int, int, str] | None = None  # HTTP status, Graph error code, message
        self.sent = 0
        self.private_replies: set[str] = set()

    def __call__(self, request) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Bearer {PAGE_TOKEN}":
            return 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
        if "access_token" in request.path:
            return 400, {"error": {"message": "the token belongs in the header here", "code": 100}}
        body = request.json()
        public = re.fullmatch(r"/v\d+\.\d+/([\d_]+)/(comments|replies)", request.path)
        if public:  # a public reply under a comment: {"message": text} -> {"id": the new comment}
            if not isinstance(body.get("message"), str) or not body["message"]:
                return 400, {"error": {"message": "Invalid parameter", "code": 100}}
            self.sent += 1
            return 200, {"id": f"{public.group(1)}_R{self.sent}"}
        if not re.fullmatch(r"/v\d+\.\d+/me/messages", request.path):
            return 404, {"error": {"message": "Unknown path", "code": 803}}
        recipient, message = body.get("recipient"), body.get("message")
        if not (isinstance(recipient, dict) and isinstance(message, dict)
                and isinstance(message.get("text"), str) and 0 < len(message["text"]) <= 2000):
            return 400, {"error": {"message": "Invalid parameter", "code": 100}}
        if "comment_id" in recipient:  # a private reply to a comment: once per comment
            if recipient["comment_id"] in self.private_replies:
                return 400, {"error": {"message": "(#10900) Activity already replied to", "code": 10900}}
            self.private_replies.add(recipient["comment_id"])
        elif not (str(recipient.get("id", "")).isdigit() and body.get("messaging_type") == "RESPONSE"):
            return 400, {"error": {"message": "Invalid parameter", "code": 100}}
        if self.error:
            status, code, text = self.error
            return status, {"error": {"message": text, "type": "OAuthException", "code": code}}
        self.sent += 1
        return 200, {"recipient_id": recipient.get("id", PSID), "message_id": f"m_OUT{self.sent}"}


@pytest.fixture
def graph() -> Iterator[tuple[FakeApi, Graph]]:
    answers = Graph()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def fb_svc(settings, clock, graph, product_nlu) -> Iterator[Any]:
    api, _ = graph
    with assisted_services(settings.model_copy(update={
        "messenger_app_secret": APP_SECRET, "messenger_verify_token": VERIFY_TOKEN,
        "messenger_page_token": PAGE_TOKEN, "messenger_api_base": api.base_url}), clock, product_nlu) as services:
        yield services


@pytest.fixture
def fb_client(fb_svc) -> Iterator[Any]:
    with api_client(fb_svc) as client:
        yield client


def envelope(*messaging: dict[str, Any], instagram: bool = False) -> dict[str, Any]:
    account = IG_ACCOUNT if instagram else PAGE_ID
    return {"object": "instagram" if instagram else "page",
            "entry": [{"id": account, "time": 1765000000000, "messaging": list(messaging)}]}


def dm(mid: str, body: Any, *, sender: str = PSID, instagram: bool = False, **message: Any) -> dict[str, Any]:
    account = IG_ACCOUNT if instagram else PAGE_ID
    return envelope({"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": 1765000000000,
                     "message": {"mid": mid, "text": body, **message}}, instagram=instagram)


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(client, payload: Any, *, signature: str | None = "sign", raw: bytes | None = None):
    raw = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = sign(raw) if signature == "sign" else signature
    return client.post("/webhooks/messenger", content=raw, headers=headers)


def conversations(svc, client) -> list[dict[str, Any]]:
    try:
        svc.agents.get_by_email("lead@gopay.test")
    except NotFound:
        svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")
    answer = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.json()["items"]


def replies(svc, channel: str = "messenger") -> list[Any]:
    return [m for m in svc.outbox.latest(limit=50) if m.channel == channel and m.purpose == "reply"]


def test_meta_handshake_echoes_the_challenge_only_for_our_token(fb_client):
    ok = fb_client.get("/webhooks/messenger", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                      "hub.challenge": "987654"})
    wrong = fb_client.get("/webhooks/messenger", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                         "hub.challenge": "987654"})
    assert (ok.status_code, ok.text) == (200, "987654")
    assert wrong.status_code == 403 and fb_client.get("/webhooks/messenger").status_code == 403


def test_a_messenger_message_reaches_the_desk_once_and_is_answered_in_its_language(fb_svc, fb_client, graph):
    api, _ = graph
    first = post(fb_client, dm("m_IN1", "我的付款为什么失败了"))
    again = post(fb_client, dm("m_IN1", "我的付款为什么失败了"))  # Meta retries an unanswered call

    assert first.json() == {"stored": 1, "duplicates": 0} and again.json() == {"stored": 0, "duplicates": 1}
    [conversation] = conversations(fb_svc, fb_client)
    assert conversation["channel"] == "messenger"
    assert len(api.requests) >= 1
    sent = api.requests[0].json()
    assert sent["recipient"] == {"id": PSID} and sent["messaging_type"] == "RESPONSE"
    assert CJK.search(sent["message"]["text"])
    assert {m.status for m in replies(fb_svc)} == {"sent"}
    assert replies(fb_svc)[0].provider_message_id.startswith("m_OUT")


def test_an_instagram_message_is_answered_on_instagram(fb_svc, fb_client, graph):
    api, _ = graph
    post(fb_client, dm("aWdfZAG1faXRlbTox", "my payment failed, why?", sender=IGSID, instagram=True))
    [conversation] = conversations(fb_svc, fb_client)
    assert conversation["channel"] == "instagram"
    sent = api.requests[0].json()
    assert sent["recipient"] == {"id": IGSID}
    assert sent["message"]["text"] and not CJK.search(sent["message"]["text"])
    [reply] = replies(fb_svc, "instagram")[-1:]
    assert reply.status == "sent" and reply.thread == IG_ACCOUNT


def test_echoes_of_our_own_messages_are_ignored(fb_svc, fb_client, graph):
    echo = envelope({"sender": {"id": PAGE_ID}, "recipient": {"id": PSID}, "timestamp": 1765000000000,
                     "message": {"mid": "m_ECHO", "text": "our answer", "is_echo": True, "app_id": 1234}})
    echo_from_elsewhere = dm("m_ECHO2", "typed in the page inbox", is_echo=True)
    assert post(fb_client, echo).json() == {"stored": 0, "duplicates": 0}
    assert post(fb_client, echo_from_elsewhere).json() == {"stored": 0, "duplicates": 0}
    assert conversations(fb_svc, fb_client) == [] and graph[0].requests == []


def test_delivery_and_instagram_read_receipts_move_the_reply_forward(fb_svc, fb_client, graph):
    post(fb_client, dm("m_IN2", "my payment failed"))
    [reply] = replies(fb_svc)[-1:]
    mid = reply.provider_message_id
    delivered = envelope({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
                          "delivery": {"mids": [mid, "m_unknown"], "watermark": 1765000001000}})
    read = envelope({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": 1765000002000}})
    assert post(fb_client, delivered).json()["stored"] == 2
    assert post(fb_client, read).json()["stored"] == 1  # a watermark from before the reply was sent
    [reply] = [m for m in replies(fb_svc) if m.id == reply.id]
    assert reply.status == "delivered"

    post(fb_client, dm("ig_IN3", "my payment failed", sender=IGSID, instagram=True))
    [ig_reply] = replies(fb_svc, "instagram")[-1:]
    seen = envelope({"sender": {"id": IGSID}, "recipient": {"id": IG_ACCOUNT},
                     "read": {"mid": ig_reply.provider_message_id}}, instagram=True)
    post(fb_client, seen)
    [ig_reply] = [m for m in replies(fb_svc, "instagram") if m.id == ig_reply.id]
    assert ig_reply.status == "read"


def watermark(when, psid: str = PSID) -> dict[str, Any]:
    return envelope({"sender": {"id": psid}, "recipient": {"id": PAGE_ID},
                     "read": {"watermark": int(when.timestamp() * 1000)}})


def test_a_read_watermark_marks_every_reply_sent_to_that_person_until_then_read(fb_svc, fb_client, graph, clock):
    post(fb_client, dm("m_W1", "my payment failed"))
    clock.advance(seconds=60)
    post(fb_client, dm("m_W2", "and my balance"))
    other = "7000000000000001"
    post(fb_client, dm("m_W3", "my payment failed", sender=other))
    read_until = clock.now()
    clock.advance(seconds=60)
    post(fb_client, dm("m_W4", "thanks"))
    mine = [m for m in replies(fb_svc) if m.destination == PSID]
    before, after = [m for m in mine if m.sent_at <= read_until], [m for m in mine if m.sent_at > read_until]
    assert before and after and {m.status for m in mine} == {"sent"}

    assert post(fb_client, watermark(read_until)).json() == {"stored": 1, "duplicates": 0}
    assert post(fb_client, watermark(read_until)).json() == {"stored": 0, "duplicates": 1}

    status = {m.id: m.status for m in replies(fb_svc)}
    assert {status[m.id] for m in before} == {"read"} and {status[m.id] for m in after} == {"sent"}
    assert {m.status for m in replies(fb_svc) if m.destination == other} == {"sent"}
    delivery = [e.payload for e in fb_svc.desk.events.since(0, agent_id=0, team_ids=[], see_all=True)
                if e.kind == "message.delivery" and e.payload.get("status") == "read"]
    assert len(delivery) == len(before)


@pytest.mark.parametrize("mark", [True, "1765000002000", -5, 10**30, 1.5, None, [1]])
def test_a_watermark_that_is_no_time_is_ignored_never_5xx(fb_svc, fb_client, mark):
    payload = envelope({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": mark}})
    answer = post(fb_client, payload)
    assert (answer.status_code, answer.json()["stored"]) == (200, 0)


def test_outside_the_24_hour_window_the_reply_fails_at_once(fb_svc, fb_client, graph):
    _, answers = graph
    answers.error = (400, 10, "(#10) This message is sent outside of allowed window.")
    post(fb_client, dm("m_IN4", "my payment failed"))
    [reply] = replies(fb_svc)[-1:]
    assert (reply.status, reply.attempts) == ("failed", 1)
    assert "allowed window" in reply.last_error and PAGE_TOKEN not in reply.last_error


def test_a_rate_limit_is_tried_again_later(fb_svc, fb_client, graph, clock):
    _, answers = graph
    answers.error = (400, 613, "Calls to this api have exceeded the rate limit.")
    post(fb_client, dm("m_IN5", "my payment failed"))
    [reply] = replies(fb_svc)[-1:]
    assert (reply.status, reply.attempts) == ("queued", 1)
    answers.error = None
    clock.advance(seconds=31)
    fb_svc.tasks["sweep_outbox"]()
    [reply] = [m for m in replies(fb_svc) if m.id == reply.id]
    assert reply.status == "sent" and answers.sent == 1


def test_an_attachment_is_kept_by_its_url(fb_svc, fb_client):
    photo = envelope({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "message": {
        "mid": "m_IMG", "attachments": [{"type": "image", "payload": {"url": "http://127.0.0.1:9/receipt.jpg"}},
                                        {"type": "fallback", "payload": {"url": "https://shop.example/item"}}]}})
    post(fb_client, photo)
    [event] = fb_svc.intake.events()
    message = event.event()
    assert message.body == "[image]"
    # The image is a file to fetch (channels/media.py); a shared link is only listed.
    assert message.attachments == [{"type": "image", "url": "http://127.0.0.1:9/receipt.jpg", "state": "pending"},
                                   {"type": "fallback", "url": "https://shop.example/item"}]


@pytest.mark.parametrize(("signature", "status_code"), [
    (None, 401), ("sha256=" + "0" * 64, 403), (sign(b"another body"), 403), (sign(b"x", "wa-secret"), 403)])
def test_an_unsigned_or_forged_call_stores_nothing(fb_svc, fb_client, graph, signature, status_code):
    raw = json.dumps(dm("m_IN6", "hi")).encode()
    answer = post(fb_client, None, raw=raw, signature=signature)
    assert answer.status_code == status_code
    assert fb_svc.intake.events() == [] and graph[0].requests == []


@pytest.mark.parametrize("payload", [
    {"object": "whatsapp_business_account", "entry": []}, {"object": "page", "entry": "x"},
    {"object": ["page"], "entry": []}, {"object": "page", "entry": [{"id": "not-a-page", "messaging": []}]},
    dm("m_1", "hi", sender="not-a-number"), dm("m_2", "hi", sender=10**40), dm(10**40, "hi"), dm("", "hi"),
    dm("m_3", "hi", sender=True), dm("m_5", "x", is_deleted=True),
    envelope({"sender": [], "recipient": 3, "message": "x"}), envelope(None, 3, "x", {"delivery": "nope"}),
    envelope({"sender": {"id": PSID}, "delivery": {"mids": [None, 3.5, {"a": 1}]}}),
    envelope({"sender": {"id": PSID}, "read": []}), envelope({"sender": {"id": PSID}, "reaction": {"emoji": "x"}}),
    {"object": "page", "entry": [{"id": PAGE_ID, "changes": "x"}]},
    {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": [1, 2]}, None, 3]}]},
    {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": 10**40, "from": {"id": True}, "message": "x"}}]}]},
    {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "changes": [{"field": "comments", "value": {
        "id": {"x": 1}, "from": "someone", "text": ["x"]}}]}]},
])
def test_hostile_payloads_are_ignored_never_5xx(fb_svc, fb_client, payload):
    answer = post(fb_client, payload)
    assert answer.status_code == 200 and answer.json()["stored"] == 0
    assert fb_svc.intake.events() == []


DEEP = b'{"object": "page", "entry": ' + b"[" * 5000


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"\x00\xff", DEEP, b"{" + b" " * 1_100_000 + b"}"])
def test_a_signed_body_that_is_not_a_json_object_answers_4xx(fb_svc, fb_client, raw):
    answer = post(fb_client, None, raw=raw)
    assert 400 <= answer.status_code < 500
    assert fb_svc.intake.events() == []


def test_odd_text_is_stored_clean(fb_svc, fb_client):
    post(fb_client, dm("m_ODD", "saldo\x00 hilang " + "x" * 30_000))
    [event] = fb_svc.intake.events()
    body = event.event().body
    assert "\x00" not in body and len(body) <= 20_000 and event.status == "done"


def test_without_its_settings_the_webhook_is_off(client):
    raw = json.dumps(dm("m_OFF", "hi")).encode()
    answer = client.post("/webhooks/messenger", content=raw, headers={"X-Hub-Signature-256": sign(raw)})
    assert answer.status_code == 404
    assert client.get("/webhooks/messenger", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                     "hub.challenge": "1"}).status_code == 404


# ---------------------------------------------------------------- public comments

POST_ID = f"{PAGE_ID}_2001"
COMMENTER = "5550001112223334"


def fb_comment(comment_id: str, message: Any, *, author: str = COMMENTER, verb: str = "add",
               item: str = "comment") -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1765000000, "changes": [{"field": "feed", "value": {
        "from": {"id": author, "name": "Siti Rahma"}, "post_id": POST_ID, "comment_id": comment_id,
        "parent_id": POST_ID, "created_time": 1765000000, "item": item, "verb": verb, "message": message}}]}]}


def ig_comment(comment_id: str, text: Any, *, author: str = IGSID) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": 1765000000, "changes": [{
        "field": "comments", "value": {"from": {"id": author, "username": "siti.r"}, "id": comment_id,
                                       "media": {"id": "17900000000000001", "media_product_type": "FEED"},
                                       "text": text}}]}]}


def public_posts(api: FakeApi) -> list[tuple[str, str]]:
    return [(r.path, r.json()["message"]) for r in api.requests if r.path.endswith(("/comments", "/replies"))]


def private_replies(api: FakeApi) -> list[dict[str, Any]]:
    return [r.json() for r in api.requests if r.path.endswith("/me/messages")]


def agent_headers(svc) -> dict[str, str]:
    try:
        svc.agents.get_by_email("lead@gopay.test")
    except NotFound:
        svc.agents.create("lead@gopay.test", "supervisor")
    return {"Authorization": f"Bearer {svc.agents.create_token('lead@gopay.test')}"}


def test_a_comment_gets_a_public_pointer_and_a_private_reply_never_account_details_in_public(
        fb_svc, fb_client, graph, make_customer):
    api, _ = graph
    make_customer(phone="+6281234567890", name="Siti Rahma", language="zh-CN", balance=1_234_567)
    comment = fb_comment(f"{POST_ID}_3001", "我的余额不对，付款失败了，我的手机号是 081234567890")
    first, again = post(fb_client, comment), post(fb_client, comment)

    assert first.json() == {"stored": 1, "duplicates": 0} and again.json() == {"stored": 0, "duplicates": 1}
    [conversation] = conversations(fb_svc, fb_client)
    assert conversation["channel"] == "messenger"
    [private] = private_replies(api)
    assert private["recipient"] == {"comment_id": f"{POST_ID}_3001"} and CJK.search(private["message"]["text"])
    [(path, public)] = public_posts(api)
    assert path == f"/v21.0/{POST_ID}_3001/comments"
    assert CJK.search(public) and "私信" in public
    assert not any(ch.isdigit() for ch in public)  # no amount, no number, nothing of the account
    assert [r.path.endswith("/me/messages") for r in api.requests] == [True, False]  # private first
    outbox = {m.purpose: m for m in fb_svc.outbox.latest(limit=10) if m.channel == "messenger"}
    assert outbox["public_reply"].status == outbox["reply"].status == "sent"
    assert outbox["reply"].provider_message_id.startswith("m_OUT")


def test_an_instagram_comment_is_answered_under_the_post_and_privately(fb_svc, fb_client, graph):
    api, _ = graph
    post(fb_client, ig_comment("17858893269000001", "my payment failed, please help"))
    [(path, public)] = public_posts(api)
    assert path == "/v21.0/17858893269000001/replies" and "private message" in public
    [private] = private_replies(api)
    assert private["recipient"] == {"comment_id": "17858893269000001"}
    assert not CJK.search(private["message"]["text"])
    [conversation] = conversations(fb_svc, fb_client)
    assert conversation["channel"] == "instagram"


def test_the_pages_own_comments_edits_and_other_items_are_ignored(fb_svc, fb_client, graph):
    assert post(fb_client, fb_comment(f"{POST_ID}_3002", "our public answer", author=PAGE_ID)).json()["stored"] == 0
    assert post(fb_client, fb_comment(f"{POST_ID}_3003", "edited", verb="edited")).json()["stored"] == 0
    assert post(fb_client, fb_comment(f"{POST_ID}_3004", "x", item="reaction")).json()["stored"] == 0
    assert post(fb_client, ig_comment("17858893269000002", "our reply", author=IG_ACCOUNT)).json()["stored"] == 0
    assert post(fb_client, fb_comment("../../me/messages", "path games")).json()["stored"] == 0
    assert post(fb_client, fb_comment(f"{POST_ID}_3005", None)).json()["stored"] == 0
    assert graph[0].requests == [] and fb_svc.intake.events() == []


def test_an_agent_answers_publicly_or_privately_and_personal_data_is_never_posted_in_public(
        fb_svc, fb_client, graph):
    api, _ = graph
    post(fb_client, fb_comment(f"{POST_ID}_3006", "my top up is not in my balance"))
    [conversation] = conversations(fb_svc, fb_client)
    url, headers = f"/api/v1/tickets/{conversation['ticket_id']}/messages", agent_headers(fb_svc)
    before = len(api.requests)

    for leak in ("Call us back at 0812-3456-7890", "Your NIK 3171234567890001 is verified",
                 "card 4111 1111 1111 1111 was charged", "we will call +6281234567890"):
        refused = fb_client.post(url, json={"body": leak, "public": True}, headers=headers)
        assert refused.status_code == 422, leak
    assert len(api.requests) == before
    assert not [m for m in fb_svc.outbox.latest(limit=20) if m.purpose == "public_reply" and "08" in m.body]

    public = fb_client.post(url, json={"body": "Our team is on it, see your inbox.", "public": True}, headers=headers)
    assert public.status_code == 201
    assert public_posts(api)[-1] == (f"/v21.0/{POST_ID}_3006/comments", "Our team is on it, see your inbox.")
    note = fb_client.post(url, json={"body": "x", "public": True, "internal": True}, headers=headers)
    assert note.status_code == 422

    # The assistant's private reply used the comment's one private reply: Meta refuses another.
    private = fb_client.post(url, json={"body": "Your balance is Rp 50.000"}, headers=headers)
    assert private.status_code == 201
    [last] = [m for m in fb_svc.outbox.latest(limit=1)]
    assert (last.purpose, last.status) == ("reply", "failed") and "10900" in last.last_error
    assert "50.000" not in " ".join(text for _, text in public_posts(api))


def test_public_is_refused_where_there_is_no_public_side(fb_svc, fb_client, graph):
    post(fb_client, dm("m_DM1", "my payment failed"))
    [conversation] = conversations(fb_svc, fb_client)
    answer = fb_client.post(f"/api/v1/tickets/{conversation['ticket_id']}/messages",
                            json={"body": "hello everyone", "public": True}, headers=agent_headers(fb_svc))
    assert answer.status_code == 422


def test_the_sender_refuses_personal_data_in_public_even_past_the_desk(fb_svc, graph, clock):
    api, _ = graph
    with fb_svc.db.transaction() as s:
        row = fb_svc.outbox.queue(s, channel="messenger", destination=COMMENTER, thread=f"comment:{POST_ID}_3007",
                                  body="Refund sent to card 4111111111111111", purpose="public_reply",
                                  now=clock.now())
        row_id = row.id
    [row] = [m for m in fb_svc.outbox.latest(limit=5) if m.id == row_id]
    assert row.status == "failed" and "personal data" in row.last_error
    assert api.requests == []
