"""Telegram: Updates posted to the webhook with the secret token reach the desk once, the assistant
answers through a fake Bot API on loopback in the customer's language, and a forged or broken call
stores nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_api import FakeApi, serve
from tests.helpers import api_client, assisted_services

BOT_TOKEN = "123456:telegram-test-token"
SECRET = "tg-webhook-secret"
USER = 7_100_200_300
CJK = re.compile(r"[\u4e00-\u9fff]")


class Telegram:
    """The fake Bot API's answers: ok with a message id, or a given failure."""

    def __init__(self) -> None:
        self.fail_with: tuple[int, str] | None = None
        self.sent = 0

    def __call__(self, request) -> tuple[int, dict[str, Any]]:
        if request.path != f"/bot{BOT_TOKEN}/sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if self.fail_with:
            code, description = self.fail_with
            return code, {"ok": False, "error_code": code, "description": description}
        self.sent += 1
        return 200, {"ok": True, "result": {"message_id": 500 + self.sent, "chat": {"id": request.json()["chat_id"]}}}


@pytest.fixture
def telegram() -> Iterator[tuple[FakeApi, Telegram]]:
    answers = Telegram()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def tg_svc(settings, clock, telegram, product_nlu) -> Iterator[Any]:
    api, _ = telegram
    with assisted_services(settings.model_copy(update={
            "telegram_bot_token": BOT_TOKEN, "telegram_secret_token": SECRET, "telegram_api_base": api.base_url}),
            clock, product_nlu) as services:
        yield services


@pytest.fixture
def tg_client(tg_svc) -> Iterator[Any]:
    with api_client(tg_svc) as client:
        yield client


def update(update_id: int, text: Any = "my payment failed", *, message_id: int = 1, chat_type: str = "private",
           user: Any = USER) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": 1_765_000_000, "text": text,
        "from": {"id": user, "is_bot": False, "first_name": "Budi", "last_name": "Santoso", "language_code": "en"},
        "chat": {"id": user, "type": chat_type, "first_name": "Budi"}}}


def post(client, payload: Any, *, secret: str | None = SECRET, raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return client.post("/webhooks/telegram", content=raw if raw is not None else json.dumps(payload), headers=headers)


def conversations(svc, client) -> list[dict[str, Any]]:
    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")
    answer = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.json()["items"]


def sent_texts(api: FakeApi) -> list[str]:
    return [r.json()["text"] for r in api.requests]


def test_a_message_reaches_the_desk_once_and_the_answer_goes_back_in_its_language(tg_svc, tg_client, telegram):
    api, _ = telegram
    first = post(tg_client, update(1, "my payment failed, why?"))
    again = post(tg_client, update(1, "my payment failed, why?"))  # Telegram retries an unanswered Update

    assert first.status_code == 200 and first.json() == {"stored": 1, "duplicates": 0}
    assert again.json() == {"stored": 0, "duplicates": 1}
    [conversation] = conversations(tg_svc, tg_client)
    assert conversation["channel"] == "telegram"
    assert len(api.requests) == 1
    request = api.requests[0].json()
    assert request["chat_id"] == str(USER)
    assert request["text"] and not CJK.search(request["text"])
    [reply] = [m for m in tg_svc.outbox.latest() if m.channel == "telegram"]
    assert (reply.status, reply.provider_message_id) == ("sent", f"{USER}:501")


def test_a_chinese_message_is_answered_in_chinese(tg_svc, tg_client, telegram):
    api, _ = telegram
    post(tg_client, update(2, "我的付款失败了，为什么？"))
    assert CJK.search(sent_texts(api)[0])


def test_the_same_person_writing_again_stays_in_one_conversation(tg_svc, tg_client, telegram):
    post(tg_client, update(3, "my payment failed", message_id=10))
    post(tg_client, update(4, "it was this morning", message_id=11))
    [conversation] = conversations(tg_svc, tg_client)
    viewer = tg_svc.desk.viewer(tg_svc.agents.get_by_email("lead@gopay.test"))
    bodies = [m.body for m in tg_svc.desk.conversations.messages(viewer, conversation["ticket_id"])]
    assert bodies.count("my payment failed") == 1 and bodies.count("it was this morning") == 1


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("wrong-secret", 403)])
def test_a_call_without_the_secret_token_stores_nothing(tg_svc, tg_client, telegram, secret, status):
    answer = post(tg_client, update(5), secret=secret)
    assert answer.status_code == status
    assert tg_svc.intake.events() == []
    assert conversations(tg_svc, tg_client) == []
    assert telegram[0].requests == []


def test_a_group_chat_or_a_bot_is_not_a_customer(tg_svc, tg_client, telegram):
    group = update(6, chat_type="group")
    bot = update(7)
    bot["message"]["from"]["is_bot"] = True
    assert post(tg_client, group).json() == {"stored": 0, "duplicates": 0}
    assert post(tg_client, bot).json() == {"stored": 0, "duplicates": 0}
    assert post(tg_client, {"update_id": 8, "edited_message": update(8)["message"]}).json()["stored"] == 0
    assert conversations(tg_svc, tg_client) == []


@pytest.mark.parametrize("payload", [
    b"not json", b"[1, 2]", b"\x00\xff", json.dumps({"update_id": 10**40, "message": "x"}).encode(),
    json.dumps(update(9, user=10**40)).encode(), json.dumps(update(9, user="x" * 5000)).encode(),
    json.dumps(update(9, user=True)).encode(), json.dumps({"message": {"chat": [], "from": 3}}).encode(),
])
def test_hostile_payloads_answer_4xx_or_are_ignored_never_5xx(tg_svc, tg_client, payload):
    answer = post(tg_client, None, raw=payload)
    assert answer.status_code < 500
    assert answer.status_code in (200, 413, 422)
    assert conversations(tg_svc, tg_client) == []


def test_a_huge_payload_is_refused_before_it_is_read(tg_svc, tg_client):
    answer = post(tg_client, None, raw=b"{" + b" " * 1_100_000 + b"}")
    assert answer.status_code == 413
    assert tg_svc.intake.events() == []


def test_odd_text_is_stored_clean(tg_svc, tg_client, telegram):
    post(tg_client, update(11, "saldo\x00 hilang " + "x" * 30_000))
    post(tg_client, update(12, 12345, message_id=2))  # a text that is not a string
    [event, other] = sorted(tg_svc.intake.events(), key=lambda e: e.id)
    assert "\x00" not in event.event().body and len(event.event().body) <= 20_000
    assert other.event().body == "[unsupported]"
    assert {e.status for e in (event, other)} == {"done"}


def test_a_photo_with_a_caption_is_a_message_with_its_attachment(tg_svc, tg_client):
    photo = update(13)
    del photo["message"]["text"]
    photo["message"].update(caption="struk pembayaran saya", photo=[
        {"file_id": "small", "file_size": 100, "width": 90, "height": 90},
        {"file_id": "large", "file_size": 90_000, "width": 800, "height": 800}])
    post(tg_client, photo)
    [event] = tg_svc.intake.events()
    message = event.event()
    assert message.body == "struk pembayaran saya"
    assert message.attachments == [{"type": "photo", "provider_id": "large", "mime_type": None, "filename": None,
                                    "state": "pending"}]


def test_telegram_down_keeps_the_reply_and_sends_it_once_when_it_is_back(tg_svc, tg_client, telegram, clock):
    api, answers = telegram
    answers.fail_with = (502, "Bad Gateway")
    post(tg_client, update(14))
    [reply] = [m for m in tg_svc.outbox.latest() if m.channel == "telegram"]
    assert (reply.status, reply.attempts) == ("queued", 1)

    answers.fail_with = None
    clock.advance(seconds=31)
    tg_svc.tasks["sweep_outbox"]()
    tg_svc.tasks["sweep_outbox"]()
    [reply] = [m for m in tg_svc.outbox.latest() if m.channel == "telegram"]
    assert reply.status == "sent"
    assert answers.sent == 1


def test_a_customer_who_blocked_the_bot_fails_the_reply_at_once_and_the_agent_is_told(tg_svc, tg_client, telegram):
    _, answers = telegram
    answers.fail_with = (403, "Forbidden: bot was blocked by the user")
    post(tg_client, update(15))
    [reply] = [m for m in tg_svc.outbox.latest() if m.channel == "telegram"]
    assert (reply.status, reply.attempts) == ("failed", 1)
    assert "blocked" in reply.last_error
    failed = [e for e in tg_svc.desk.events.since(0, agent_id=0, team_ids=[], see_all=True)
              if e.kind == "message.delivery"]
    assert failed and failed[-1].payload["status"] == "failed"


def test_without_its_settings_the_webhook_is_off(client):
    answer = client.post("/webhooks/telegram", json=update(16), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert answer.status_code == 404
