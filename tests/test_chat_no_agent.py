"""When no person can answer soon: the chat says so in the customer's language, with when one will
(the next opening of the chat's business calendar, or the expected wait), keeps the case as a
ticket, and e-mails an agent's reply the customer left unread (once; never one they read)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gopaycare.channels.email_smtp import SmtpEmailSender
from gopaycare.desk.models import Conversation, Ticket
from gopaycare.platform.audit import Actor
from tests.conftest import PASSWORD, START
from tests.fake_smtp import running_smtp
from tests.helpers import chat_frames, open_socket

PHONE = "+6281234567890"
EMAIL = "customer1@example.com"  # make_customer's first customer
OFFICE = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
HANDOFF = {"zh-CN": "转人工", "en": "let me talk to a real person", "id": "mau bicara dengan CS"}


@pytest.fixture
def chat(svc, client, make_customer, bot):
    """A logged-in customer (with an e-mail address), and a chat whose agents keep office hours."""
    svc._assistant = bot
    make_customer(phone=PHONE)
    svc.desk.sla.create_calendar("Chat office hours", hours=OFFICE)
    svc.desk.availability.calendar_name = "Chat office hours"
    return client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]


def _hand_over(client, token: str, lang: str) -> dict:
    """The customer asks for a person; the bot's last message on the stream."""
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": HANDOFF[lang], "language": lang})
        got = chat_frames(ws, messages=2, acks=1)
    return [f for f in got if f["type"] == "message"][-1]


def _case(svc, conversation_id: int) -> tuple[Conversation, Ticket]:
    with svc.db.read() as s:
        conversation = s.get(Conversation, conversation_id)
        return conversation, s.get(Ticket, conversation.ticket_id)


@pytest.mark.parametrize("lang,when,words", [
    ("zh-CN", "11月26日 08:00 (WIB)", ["不在服务时间", "工单#", "c***1@example.com"]),
    ("en", "26 Nov 08:00 WIB", ["away right now", "ticket #", "c***1@example.com"]),
    ("id", "26 Nov 08:00 WIB", ["di luar jam layanan", "tiket #", "c***1@example.com"]),
])
def test_outside_business_hours_the_chat_says_when_agents_are_back_and_keeps_the_ticket(
        svc, client, chat, lang, when, words):
    svc.clock.set(START + timedelta(hours=10))  # Wednesday 20:00 in Jakarta: closed until Thursday 08:00
    # The customer signs in then (a session lasts an hour: the fixture's token has expired by now).
    chat = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]

    notice = _hand_over(client, chat, lang)
    conversation, ticket = _case(svc, notice["conversation_id"])

    assert notice["author_type"] == "bot" and notice["seq"] == 2  # posted like any bot message
    assert when in notice["body"] and f"#{ticket.id}" in notice["body"]
    assert all(word in notice["body"] for word in words)
    assert (ticket.status, conversation.handled_by, conversation.follow_up_email) == ("new", "human", EMAIL)


@pytest.mark.parametrize("lang,words", [("zh-CN", ["没有人工客服在线", "约30分钟"]),
                                        ("en", ["No agent is online", "about 30 min"]),
                                        ("id", ["tidak ada agen CS yang online", "sekitar 30 menit"])])
def test_in_business_hours_with_nobody_online_the_chat_says_so_with_the_expected_wait(svc, client, chat, lang,
                                                                                     words):
    notice = _hand_over(client, chat, lang)  # Wednesday 10:00: open, but nobody is online
    _, ticket = _case(svc, notice["conversation_id"])

    assert all(word in notice["body"] for word in words) and f"#{ticket.id}" in notice["body"]


def test_with_agents_online_the_chat_gives_the_expected_wait_and_promises_no_email(svc, client, chat):
    agent = svc.agents.create("putri@gopay.test", "agent", capacity=0)  # online, but no room: the case waits
    svc.desk.routing.set_presence(agent.id, "online", actor=Actor.system())

    notice = _hand_over(client, chat, "en")
    conversation, _ = _case(svc, notice["conversation_id"])

    assert re.match(r"I.m handing you to an agent; the expected wait is about \d+ min\.", notice["body"])
    assert conversation.follow_up_email is None


def test_a_visitor_without_an_address_is_offered_to_leave_one_and_it_is_taken(svc, client, chat):
    token = client.post("/api/v1/chat/visitors", json={}).json()["token"]
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        def say(n: int, text: str, messages: int = 2) -> list[dict]:
            ws.send_json({"type": "message", "client_id": f"v-{n}", "body": text, "language": "en"})
            return [f for f in chat_frames(ws, messages=messages, acks=1) if f["type"] == "message"]

        offer = say(1, HANDOFF["en"])[-1]
        bad = say(2, "mail me at nobody@nowhere", messages=1)  # no address in it: the bot stays quiet
        noted = say(3, "ok, it is Budi.S@Example.COM thanks")[-1]
        after = say(4, "is anyone there? budi@example.org", messages=1)  # asked once, taken once
    conversation, _ = _case(svc, offer["conversation_id"])

    assert "leave an e-mail address here" in offer["body"]
    assert [m["direction"] for m in bad + after] == ["in", "in"]
    assert noted["body"] == "Thank you, we will also e-mail the answer to b***s@example.com."
    assert conversation.follow_up_email == "budi.s@example.com"


def test_an_agents_reply_left_unread_is_emailed_once_and_one_read_in_time_never(svc, client, chat, supervisor):
    auth = {"Authorization": f"Bearer {chat}"}
    with running_smtp() as smtp:
        svc.outbox.register("email", SmtpEmailSender(smtp.host, smtp.port, "GoPay Care <care@gopay.test>"))
        notice = _hand_over(client, chat, "en")
        conversation_id = notice["conversation_id"]
        _, ticket = _case(svc, conversation_id)
        svc.desk.conversations.reply(supervisor, ticket.id, "Your refund went back to your balance today.")
        svc.clock.advance(minutes=9)
        early = svc.desk.follow_ups.sweep()
        svc.clock.advance(minutes=2)
        sent, again = svc.desk.follow_ups.sweep(), svc.desk.follow_ups.sweep()

        svc.desk.conversations.reply(supervisor, ticket.id, "Anything else we can do?")
        last = client.get(f"/api/v1/me/conversations/{conversation_id}/messages", headers=auth).json()["last_seq"]
        client.post(f"/api/v1/me/conversations/{conversation_id}/read", json={"up_to": last}, headers=auth)
        svc.clock.advance(minutes=11)
        read_in_time = svc.desk.follow_ups.sweep()
        mails = smtp.mails()

    assert (early, sent, again, read_in_time) == (0, 1, 0, 0)
    [mail] = mails
    assert mail["To"] == EMAIL and f"#{ticket.id}" in mail["Subject"]
    assert "Your refund went back to your balance today." in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-generated"
