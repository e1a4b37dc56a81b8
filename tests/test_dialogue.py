"""The dialogue layer: each turn read as cancel / handoff / new request / slot answer / clarification,
bare amounts read as amounts where the talk is about money, and a failing flow answered, never an error."""

from __future__ import annotations

import pytest

from gopaycare.assistant import dialogue
from gopaycare.assistant.nlu.entities import extract
from gopaycare.assistant.nlu.types import Intent, Parse
from gopaycare.platform.errors import NotFound
from tests.conftest import PASSWORD
from tests.helpers import codes_to, joined, say


@pytest.mark.parametrize("text", [
    "gak jadi deh", "ga jadi kak", "batal aja", "nggak usah deh", "算了不退了", "算了吧", "不用了谢谢", "算了不改了",
    "never mind", "nevermind thanks", "ok never mind", "forget it", "cancel", "never mind, i changed my mind",
])
def test_natural_cancellations_are_cancellations(text):
    assert dialogue.is_cancel(text)


@pytest.mark.parametrize("text", [
    "cancel my payment to Bukaloka", "how do I cancel a transaction", "batal bayar tapi saldo kepotong",
    "取消的订单什么时候退款", "i want a refund", "gak jadi bayar tapi uang sudah keluar",
])
def test_a_request_that_mentions_cancelling_is_not_a_cancel(text):
    assert not dialogue.is_cancel(text)


def _parse(text: str, intent: str = "nlu_fallback", confidence: float = 0.3) -> Parse:
    return Parse(text=text, intent=Intent(intent, confidence), intent_ranking=[Intent(intent, confidence)])


@pytest.mark.parametrize("text", ["just get me a human", "转人工", "我要人工客服", "mau ngomong sama cs aja",
                                  "can I talk to a real person please", "agent pls", "tolong sambungkan ke agen"])
def test_asking_for_a_person_is_read_whatever_the_classifier_says(text):
    assert dialogue.wants_human(text, _parse(text))


@pytest.mark.parametrize("text", ["akun saya dibobol orang", "my agent code is 12345", "Budi Santoso"])
def test_words_near_person_are_not_a_handoff(text):
    assert not dialogue.wants_human(text, _parse(text))


@pytest.mark.parametrize(("text", "amount"), [
    ("cashback for my 95000 payment", 95000), ("我那笔95000的返现", 95000), ("refund yang 480000 dong", 480000),
    ("bayar kopi 32000 ga dapet cashback", 32000), ("付75000给GoFood失败了", 75000),
])
def test_a_bare_number_in_money_talk_is_an_amount(text, amount):
    assert [e.value for e in extract(text) if e.entity == "amount"] == [amount]


@pytest.mark.parametrize("text", ["95000", "pin 123456", "kode 123456 buat bayar", "paid in 2026", "order 123456"])
def test_a_bare_number_elsewhere_is_not_an_amount(text):
    assert [e for e in extract(text) if e.entity == "amount"] == []


def test_a_pending_amount_slot_reads_a_bare_number():
    assert [e.value for e in extract("95000", money=True)] == [95000]


def test_a_slot_answer_keeps_the_conversations_language():
    state = {"flow": "account_locked", "step": "verify_name"}
    assert dialogue.answer_language(state, "李娜", "zh-CN", "en") == "en"
    assert dialogue.answer_language(state, "just get me a human", "en", "zh-CN") == "en"
    assert dialogue.answer_language({}, "李娜", "zh-CN", "en") == "zh-CN"


def test_a_yes_carrying_a_new_request_switches_to_it(svc, bot, make_customer):
    customer = make_customer(phone="+6281200000001")
    say(bot, "+6281200000001", "I can't log in to my account", "en")
    answer = say(bot, "+6281200000001", "yes, and I forgot my PIN, reset it", "en")
    assert answer.intent == "account_password_reset"
    assert "PIN" in joined(answer)
    assert len(codes_to(svc, svc.identity.get(customer).phone)) == 1


def test_a_cancel_in_the_middle_of_a_refund_sends_nothing(svc, bot, make_customer, make_merchant):
    customer = make_customer(phone="+6281200000002", balance=200_000)
    svc.wallet.pay_merchant(customer, make_merchant(), 50_000, "pay-1")
    assert say(bot, "+6281200000002", "saya mau refund", "id").intent == "refund_apply"
    answer = say(bot, "+6281200000002", "gak jadi deh", "id")
    assert answer.intent is None and "dibatalkan" in joined(answer)
    assert svc.refunds.list(customer) == []
    say(bot, "+6281200000002", "1", "id")  # no pick is pending any more: a "1" now is not a choice
    assert svc.refunds.list(customer) == []


def test_a_name_slot_does_not_take_a_request_for_a_person(svc, bot, make_customer):
    customer = make_customer(phone="+6281200000003", name="Ayu Lestari")
    for _ in range(5):  # wrong PINs lock (wrong passwords only pause logins: ADR 0018)
        with pytest.raises(Exception):  # noqa: B017 - any refusal: the point is the lock
            svc.identity.verify_pin(customer, "000000")
    assert say(bot, "+6281200000003", "my account is locked", "en").intent == "account_locked"
    answer = say(bot, "+6281200000003", "just get me a human", "en")
    assert answer.handed_off
    assert svc.identity.get(customer).locked


def test_a_flow_that_fails_answers_and_the_next_message_works(svc, bot, make_customer, client, monkeypatch):
    """No customer message ends in an error: the failure is a reply in their language, the flow is
    dropped, and the conversation goes on (here through the HTTP API, status 200 every time)."""
    make_customer(phone="+6281200000004", balance=100_000)
    svc._assistant = bot
    token = client.post("/api/v1/auth/login", json={"login": "+6281200000004", "password": PASSWORD}).json()["token"]
    headers = {"authorization": f"Bearer {token}"}
    limits = bot.flows["txn_limit"]

    def broken(a, t):
        raise NotFound("customer")

    monkeypatch.setattr(limits, "start", broken)
    first = client.post("/api/v1/me/assistant", headers=headers, json={"body": "berapa limit harian saya"})
    assert first.status_code == 200
    assert "kendala" in "\n".join(first.json()["replies"])
    monkeypatch.undo()
    again = client.post("/api/v1/me/assistant", headers=headers, json={"body": "berapa limit harian saya"})
    assert again.status_code == 200
    assert again.json()["intent"] == "txn_limit" and "Rp" in "\n".join(again.json()["replies"])
