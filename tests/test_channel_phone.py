"""The phone hotline end to end through the HTTP API: Twilio-signed form posts walk the voice menu
(language, menu, an agent's queue, a callback, a voicemail after hours with its recording and
transcription, a locked account told first), a PBX reports calls over Generic CTI (ringing, answered,
ended; a missed call becomes a callback case), forged or hostile requests store nothing and answer
4xx, and what agents are told keeps the number masked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, fromstring

import pytest
from sqlalchemy import select

from gopaycare.channels import twilio_signature
from gopaycare.container import build
from gopaycare.desk.calendar import Calendar, is_open
from gopaycare.desk.models import Message, PhoneCall, Ticket
from gopaycare.platform.audit import Actor
from gopaycare.platform.pii import mask_phone
from tests.helpers import api_client

AUTH_TOKEN = "twilio-test-auth-token"
CTI_TOKEN = "cti-token-0123456789abcdef"
CALENDAR = "Hotline hours"
HOURS = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
PHONE = "+6281234567890"
LOCAL = "081234567890"
LINE = "+62215550000"
SID = "CA" + "0" * 31 + "1"
BASE = "http://testserver"


@pytest.fixture
def phone_svc(settings, clock) -> Iterator[Any]:
    services = build(settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "cti_token": CTI_TOKEN,
                                                 "phone_calendar": CALENDAR}),
                     clock=clock, immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    services.desk.sla.create_calendar(CALENDAR, hours=HOURS, holidays=["2026-12-25"])
    yield services
    services.close()


@pytest.fixture
def phone(phone_svc) -> Iterator[Any]:
    with api_client(phone_svc) as client:
        yield client


@pytest.fixture
def customer(phone_svc) -> int:
    return phone_svc.identity.register(phone=PHONE, name="Budi Santoso", password="Secret-pass1", pin="258147",
                                       language="en").id


@pytest.fixture
def lead(phone_svc) -> str:
    phone_svc.agents.create("lead@gopay.test", "supervisor")
    return phone_svc.agents.create_token("lead@gopay.test")


@pytest.fixture
def ayu(phone_svc) -> Any:
    """An online agent for accounts and transactions in English and Indonesian."""
    agent = phone_svc.agents.create("ayu@gopay.test", "agent")
    phone_svc.agents.set_profile(agent.id, languages=["en", "id"], areas=["account", "transaction"], capacity=5)
    phone_svc.desk.routing.set_presence(agent.id, "online", actor=Actor.system())
    return agent


def signed(path: str, form: dict[str, str], *, base: str = BASE, token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature.compute(token, base + path, form.items())}


class Caller:
    """A phone calling the hotline through Twilio: posts what Twilio would, where TwiML says."""

    def __init__(self, client: Any, number: str = PHONE, sid: str = SID) -> None:
        self.client = client
        self.form = {"CallSid": sid, "AccountSid": "AC" + "1" * 32, "From": number, "To": LINE,
                     "Direction": "inbound", "CallStatus": "in-progress", "ApiVersion": "2010-04-01"}
        self.twiml: Element | None = None
        self.last: tuple[str, dict[str, str]] | None = None

    def post(self, path: str, **extra: str) -> Any:
        form = {**self.form, **extra}
        self.last = (path, form)
        answer = self.client.post(path, content=urlencode(form), headers=signed(path, form))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        self.twiml = fromstring(answer.text)
        return self.twiml

    def again(self) -> Any:
        """Twilio retries the last request (a timeout on its side)."""
        path, form = self.last
        return self.client.post(path, content=urlencode(form), headers=signed(path, form))

    def dial(self) -> Element:
        return self.post("/webhooks/twilio/voice")

    def press(self, key: str) -> Element:
        gather = self.twiml.find("Gather")
        assert gather is not None, self.said()
        return self.post(gather.get("action"), Digits=key)

    def said(self) -> list[str]:
        return [say.text for say in self.twiml.iter("Say")]

    def languages(self) -> set[str]:
        return {say.get("language") for say in self.twiml.iter("Say")}


def tickets(svc) -> list[Ticket]:
    with svc.db.read() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def messages(svc, ticket_id: int) -> list[Message]:
    with svc.db.read() as s:
        return list(s.scalars(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def calls(svc) -> list[PhoneCall]:
    with svc.db.read() as s:
        return list(s.scalars(select(PhoneCall).order_by(PhoneCall.id)))


def events(client, token: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/events?after=0", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.json()["items"]


def after_hours(clock) -> None:
    clock.advance(hours=12)  # Wednesday 22:00 in Jakarta


# ---------------------------------------------------------------- the voice menu


def test_a_caller_chooses_english_then_accounts_then_an_agent_and_the_case_is_routed(phone_svc, phone, customer,
                                                                                       ayu):
    caller = Caller(phone)
    caller.dial()
    assert caller.languages() == {"zh-CN", "en-US", "id-ID"}

    caller.press("2")
    assert caller.languages() == {"en-US"} and caller.said()[0] == "For account and login, press 1."
    caller.press("1")
    assert caller.said() == ["To talk to an agent now, press 1.",
                             "To have an agent call you back instead of waiting, press 2."]
    twiml = caller.press("1")

    enqueue = twiml.find("Enqueue")
    assert enqueue.text == "gopaycare-account"
    assert enqueue.get("action") == "/webhooks/twilio/voice/queue?s=queued&l=en&a=account"
    [ticket] = tickets(phone_svc)
    assert (ticket.channel, ticket.area, ticket.language, ticket.tags) == ("phone", "account", "en", ["phone"])
    assert ticket.assignee_id == ayu.id  # routed like any other case
    with phone_svc.db.read() as s:
        from gopaycare.desk.models import Contact
        assert s.get(Contact, ticket.contact_id).customer_id == customer
    [call] = calls(phone_svc)
    assert (call.source, call.call_id, call.state, call.number, call.ticket_id) == ("twilio", SID, "queued", PHONE,
                                                                                  ticket.id)


def test_a_retried_webhook_files_nothing_twice(phone_svc, phone, customer):
    caller = Caller(phone)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.press("1")
    retried = caller.again()

    assert retried.status_code == 200 and fromstring(retried.text).find("Enqueue") is not None
    assert len(tickets(phone_svc)) == 1
    assert len(messages(phone_svc, tickets(phone_svc)[0].id)) == 1
    assert [e.event_key for e in phone_svc.intake.events(channel="phone")] == [f"call:twilio:{SID}:transfer"]


def test_a_callback_request_files_a_callback_case_in_the_callers_language(phone_svc, phone, customer):
    caller = Caller(phone)
    caller.dial()
    caller.press("3")  # Bahasa Indonesia
    caller.press("2")  # payments
    twiml = caller.press("2")  # call me back

    assert twiml.find("Hangup") is not None and "menelepon balik" in caller.said()[0]
    [ticket] = tickets(phone_svc)
    assert (ticket.area, ticket.language, ticket.priority) == ("transaction", "id", "normal")
    assert ticket.tags == ["callback", "phone"]
    [message] = messages(phone_svc, ticket.id)
    assert message.body.startswith("📞 Callback requested") and "area: transaction" in message.body
    assert calls(phone_svc)[0].state == "callback"


def test_after_hours_the_caller_leaves_a_voicemail_with_its_recording_and_transcription(phone_svc, phone, customer,
                                                                                        clock):
    after_hours(clock)
    caller = Caller(phone)
    caller.dial()
    caller.press("1")  # 中文
    twiml = caller.press("4")  # the app

    record = twiml.find("Record")
    assert record is not None and record.get("transcribe") == "true"
    assert caller.languages() == {"zh-CN"} and "现在不是人工客服的服务时间" in caller.said()[0]
    assert tickets(phone_svc) == []  # nothing is filed before the message is left

    recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "a" * 32
    twiml = caller.post(record.get("action"), RecordingUrl=recording_url, RecordingSid="RE" + "a" * 32,
                        RecordingDuration="42", Digits="#")
    assert twiml.find("Hangup") is not None and "已收到您的留言" in caller.said()[0]
    [ticket] = tickets(phone_svc)
    assert (ticket.area, ticket.language) == ("tech_support", "zh-CN")
    assert set(ticket.tags) == {"phone", "voicemail", "callback"}
    [voicemail] = messages(phone_svc, ticket.id)
    assert recording_url in voicemail.body and "(0:42)" in voicemail.body
    assert voicemail.attachments == [{"type": "recording", "url": recording_url, "provider_id": "RE" + "a" * 32,
                                      "duration": 42}]

    twiml = caller.post(record.get("transcribeCallback"), TranscriptionText="My app crashes at login",
                        TranscriptionStatus="completed", RecordingSid="RE" + "a" * 32, RecordingUrl=recording_url)
    assert list(twiml) == []
    note = messages(phone_svc, ticket.id)[-1]
    assert note.internal and note.author_type == "system" and "My app crashes at login" in note.body
    assert note.attachments[0]["type"] == "transcription"


def test_a_voicemail_left_empty_is_still_a_callback(phone_svc, phone, customer, clock):
    after_hours(clock)
    caller = Caller(phone)
    caller.dial()
    caller.press("2")
    twiml = caller.press("2")
    redirect = twiml.find("Redirect").text  # Twilio goes on past a silent <Record>

    caller.post(redirect)

    [ticket] = tickets(phone_svc)
    assert "callback" in ticket.tags and "left no message" in messages(phone_svc, ticket.id)[0].body


def test_a_transcription_before_its_voicemail_waits_for_it(phone_svc, phone, customer, clock):
    after_hours(clock)
    caller = Caller(phone)
    caller.post("/webhooks/twilio/voice/transcription", TranscriptionText="hello", TranscriptionStatus="completed")
    [early] = phone_svc.intake.events(channel="phone")
    assert (early.status, early.attempts) == ("queued", 1) and "CallNotReady" in early.last_error

    caller.post("/webhooks/twilio/voice/recording?s=voicemail&l=en&a=account",
                RecordingUrl="https://api.twilio.com/r/RE1", RecordingDuration="3")
    clock.advance(seconds=31)
    phone_svc.tasks["sweep_channel_events"]()

    assert {e.status for e in phone_svc.intake.events(channel="phone")} == {"done"}
    assert "hello" in messages(phone_svc, tickets(phone_svc)[0].id)[-1].body


@pytest.mark.parametrize(("lock", "heard"), [("locked", "is locked after too many wrong passwords"),
                                             ("frozen", "is frozen: to protect your money")])
def test_a_locked_or_frozen_account_hears_it_before_the_menu(phone_svc, phone, customer, lock, heard):
    if lock == "locked":
        for _ in range(phone_svc.settings.max_failed_logins):
            with pytest.raises(Exception):  # noqa: B017 - wrong PINs while signed in, until the lock
                phone_svc.identity.verify_pin(customer, "000000")
    else:
        phone_svc.identity.freeze(customer, actor=Actor.system(), reason="phone stolen")
    caller = Caller(phone)
    caller.dial()
    caller.press("2")

    said = caller.said()
    assert heard in said[0] and said[1] == "For account and login, press 1."
    assert "Budi" not in " ".join(said) and "stolen" not in " ".join(said)  # nothing about whose account or why


def test_a_caller_who_gives_up_in_the_queue_becomes_a_high_priority_callback(phone_svc, phone, customer):
    caller = Caller(phone)
    caller.dial()
    caller.press("2")
    caller.press("2")
    enqueue = caller.press("1").find("Enqueue")

    caller.post(enqueue.get("action"), QueueResult="hangup", QueueTime="95")

    [ticket] = tickets(phone_svc)
    assert ticket.priority == "high" and {"callback", "missed_call"} <= set(ticket.tags)
    assert [m.body.splitlines()[0] for m in messages(phone_svc, ticket.id)][-1].startswith("📞 Hung up while waiting")
    assert calls(phone_svc)[0].state == "abandoned"


def test_a_withheld_number_reaches_the_queue_but_files_no_case(phone_svc, phone):
    caller = Caller(phone, number="anonymous")
    caller.dial()
    caller.press("2")
    twiml = caller.press("2")  # no options: nobody to call back

    assert twiml.find("Enqueue") is not None
    assert tickets(phone_svc) == []
    [call] = calls(phone_svc)
    assert (call.number, call.state) == ("", "queued")


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(settings, clock):
    public = "https://care.example.com"
    services = build(settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "public_url": public}),
                     clock=clock, immediate_jobs=True, senders={})
    try:
        with api_client(services) as client:
            form = {"CallSid": SID, "From": PHONE, "To": LINE}
            path = "/webhooks/twilio/voice"
            as_seen = client.post(path, content=urlencode(form), headers=signed(path, form))
            as_called = client.post(path, content=urlencode(form), headers=signed(path, form, base=public))
            with_port = client.post(path, content=urlencode(form), headers=signed(path, form, base=public + ":443"))
    finally:
        services.close()

    assert as_seen.status_code == 403
    assert as_called.status_code == 200 and with_port.status_code == 200
    assert fromstring(as_called.text).find("Gather").get("action") == \
        "https://care.example.com/webhooks/twilio/voice/gather?s=language"


# ---------------------------------------------------------------- nothing stored without Twilio's signature


@pytest.mark.parametrize(("path", "header", "status"), [
    ("/webhooks/twilio/voice", None, 401), ("/webhooks/twilio/voice", "forged", 403),
    ("/webhooks/twilio/voice/gather?s=options&l=en&a=account", None, 401),
    ("/webhooks/twilio/voice/gather?s=options&l=en&a=account", "forged", 403),
    ("/webhooks/twilio/voice/recording?s=voicemail&l=en&a=account", "forged", 403),
    ("/webhooks/twilio/voice/transcription", None, 401), ("/webhooks/twilio/voice/queue?s=queued&l=en&a=account",
                                                          "forged", 403)])
def test_a_forged_or_unsigned_request_stores_nothing(phone_svc, phone, customer, path, header, status):
    form = {"CallSid": SID, "From": PHONE, "To": LINE, "Digits": "2", "QueueResult": "hangup",
            "RecordingUrl": "https://api.twilio.com/r/RE1", "TranscriptionText": "x"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if header == "forged":
        headers["X-Twilio-Signature"] = twilio_signature.compute("not-the-token", BASE + path, form.items())

    answer = phone.post(path, content=urlencode(form), headers=headers)

    assert answer.status_code == status
    assert phone_svc.intake.events() == [] and tickets(phone_svc) == [] and calls(phone_svc) == []


def test_a_signature_over_other_parameters_is_refused(phone_svc, phone, customer):
    path = "/webhooks/twilio/voice/gather?s=options&l=en&a=account"
    form = {"CallSid": SID, "From": PHONE, "To": LINE, "Digits": "1"}
    headers = signed(path, form)

    tampered = phone.post(path, content=urlencode({**form, "Digits": "2"}), headers=headers)
    elsewhere = phone.post(path.replace("account", "promotion"), content=urlencode(form), headers=headers)

    assert tampered.status_code == elsewhere.status_code == 403
    assert tickets(phone_svc) == []


def test_the_voice_line_is_off_without_its_token(client):
    answer = client.post("/webhooks/twilio/voice", content="CallSid=" + SID,
                         headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert answer.status_code == 404


# ---------------------------------------------------------------- a PBX over Generic CTI


def cti(client, token: str = CTI_TOKEN, *, as_json: bool = False, **fields: Any) -> Any:
    if as_json:
        return client.post(f"/api/v1/cti/{token}", json=fields)
    return client.post(f"/api/v1/cti/{token}", content=urlencode(fields, doseq=True),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_pbx_call_rings_is_answered_and_ends_logged_on_the_callers_case(phone_svc, phone, customer, ayu, lead):
    ringing = cti(phone, event="newCall", **{"from": "6281234567890", "to": "622155500", "user[]": ["Ayu"]},
                  direction="in", callId="pbx-1", queue="hotline")
    assert ringing.status_code == 200 and ringing.json() == {"stored": 1, "duplicates": 0}
    [rang] = [e for e in events(phone, lead) if e["kind"] == "call.ringing"]
    assert rang["payload"]["number"] == mask_phone(PHONE) and rang["payload"]["customer"] is True
    assert (rang["payload"]["account"], rang["payload"]["queue"]) == ("active", "hotline")
    assert tickets(phone_svc) == []  # ringing is not a case yet

    answered = cti(phone, as_json=True, event="answer", direction="in", callId="pbx-1", to="622155500",
                   answeringNumber="ayu@gopay.test", **{"from": "6281234567890"})
    assert answered.status_code == 200
    [ticket] = tickets(phone_svc)
    assert (ticket.channel, ticket.assignee_id) == ("phone", ayu.id)

    phone_svc.clock.advance(seconds=192)
    cti(phone, event="hangup", direction="in", callId="pbx-1", cause="normalClearing", **{"from": "6281234567890"})

    [call] = calls(phone_svc)
    assert (call.state, call.agent_id, call.ticket_id, call.cause) == ("ended", ayu.id, ticket.id, "normalClearing")
    bodies = [m.body for m in messages(phone_svc, ticket.id)]
    assert bodies[0].startswith("📞 Phone call answered") and "answered by: ayu@gopay.test" in bodies[0]
    assert "duration: 3:12" in bodies[-1]
    kinds = [e["kind"] for e in events(phone, lead)]
    assert kinds.index("call.ringing") < kinds.index("call.answered") < kinds.index("call.ended")


def test_a_missed_call_becomes_a_high_priority_callback_with_its_own_sla(phone_svc, phone, customer, lead):
    high = phone_svc.desk.sla.create_policy("High", priority="high", first_response_minutes=30,
                                            next_response_minutes=60, resolution_minutes=240)
    phone_svc.desk.sla.create_policy("Normal", priority="normal", first_response_minutes=240,
                                     next_response_minutes=480, resolution_minutes=2880)
    cti(phone, event="newCall", direction="in", callId="pbx-2", **{"from": PHONE, "to": LINE})
    cti(phone, event="hangup", direction="in", callId="pbx-2", cause="noAnswer", **{"from": PHONE, "to": LINE})
    again = cti(phone, event="hangup", direction="in", callId="pbx-2", cause="noAnswer", **{"from": PHONE})

    assert again.json() == {"stored": 0, "duplicates": 1}
    [ticket] = tickets(phone_svc)
    assert (ticket.priority, ticket.sla_policy_id, ticket.channel) == ("high", high, "phone")
    assert {"callback", "missed_call", "phone"} == set(ticket.tags)
    assert messages(phone_svc, ticket.id)[0].body.startswith("📞 Missed call: call back")
    assert calls(phone_svc)[0].state == "missed"
    [ended] = [e for e in events(phone, lead) if e["kind"] == "call.ended"]
    assert ended["payload"]["missed"] is True and ended["ticket_id"] == ticket.id


@pytest.mark.parametrize("cause", ["normalClearing", "forwarded", "congestion"])
def test_a_call_that_was_not_missed_files_no_callback(phone_svc, phone, customer, cause):
    cti(phone, event="newCall", direction="in", callId="pbx-3", **{"from": PHONE})
    cti(phone, event="hangup", direction="in", callId="pbx-3", cause=cause, **{"from": PHONE})

    assert tickets(phone_svc) == [] and calls(phone_svc)[0].state == "ended"


def test_an_unanswered_call_we_made_is_no_missed_call(phone_svc, phone, customer):
    cti(phone, event="newCall", direction="out", callId="pbx-4", to=PHONE, **{"from": LINE})
    cti(phone, event="hangup", direction="out", callId="pbx-4", cause="noAnswer", to=PHONE, **{"from": LINE})

    assert tickets(phone_svc) == []


def test_a_missed_call_joins_the_callers_open_phone_case_and_raises_it(phone_svc, phone, customer):
    caller = Caller(phone)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.press("2")  # a callback case, normal priority
    cti(phone, event="hangup", direction="in", callId="pbx-5", cause="cancel", **{"from": LOCAL})

    [ticket] = tickets(phone_svc)
    assert ticket.priority == "high" and {"callback", "missed_call"} <= set(ticket.tags)
    assert len(messages(phone_svc, ticket.id)) == 2


@pytest.mark.parametrize(("token", "status"), [("wrong-token-0123456789", 403), (CTI_TOKEN[:-1] + "x", 403)])
def test_a_wrong_cti_token_is_refused_and_stores_nothing(phone_svc, phone, customer, token, status):
    answer = cti(phone, token, event="hangup", direction="in", callId="pbx-6", cause="noAnswer", **{"from": PHONE})

    assert answer.status_code == status
    assert phone_svc.intake.events() == [] and calls(phone_svc) == []


def test_cti_is_off_without_its_token(client, svc):
    assert cti(client, event="newCall", direction="in", callId="x").status_code == 404
    assert svc.intake.events() == []


# ---------------------------------------------------------------- what agents are told


def test_agents_events_never_carry_the_number_in_clear(phone_svc, phone, customer, lead, clock):
    cti(phone, event="newCall", direction="in", callId="pbx-7", **{"from": PHONE, "to": LINE})
    cti(phone, event="hangup", direction="in", callId="pbx-7", cause="busy", **{"from": PHONE, "to": LINE})
    caller = Caller(phone)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.press("1")

    stream = json.dumps(events(phone, lead), ensure_ascii=False)
    kinds = {e["kind"] for e in events(phone, lead)}
    assert {"call.ringing", "call.ended", "call.queued", "ticket.created", "message.created"} <= kinds
    for clear in (PHONE, PHONE[1:], LOCAL, LINE):
        assert clear not in stream
    assert mask_phone(PHONE) in stream


# ---------------------------------------------------------------- hostile input: 4xx, never 5xx

HUGE = str(2**70)
LONG = "x" * 100_000


@pytest.mark.parametrize("form", [
    {}, {"CallSid": ""}, {"CallSid": HUGE * 10}, {"CallSid": "CA\x00" + "0" * 32}, {"CallSid": LONG},
    {"CallSid": "CA 1234567890"}, {"CallSid": "-" * 20},
])
def test_a_signed_request_naming_no_call_is_refused(phone_svc, phone, form):
    answer = phone.post("/webhooks/twilio/voice", content=urlencode(form), headers=signed("/webhooks/twilio/voice",
                                                                                           form))
    assert answer.status_code == 422
    assert phone_svc.intake.events() == []


@pytest.mark.parametrize(("path", "extra"), [
    ("/webhooks/twilio/voice/gather?s=menu&l=en", {"Digits": HUGE}),
    ("/webhooks/twilio/voice/gather?s=menu&l=en", {"Digits": "1\x00"}),
    ("/webhooks/twilio/voice/gather?s=menu&l=en", {"Digits": LONG}),
    ("/webhooks/twilio/voice/gather?s=options&l=en&a=" + "x" * 5000, {"Digits": "1"}),
    ("/webhooks/twilio/voice/gather?s=%00&l=en&t=" + HUGE, {"Digits": "1"}),
    ("/webhooks/twilio/voice/gather", {"Digits": "1", "From": LONG, "To": "\x00" * 50}),
    ("/webhooks/twilio/voice/recording?s=voicemail&l=en&a=account",
     {"RecordingUrl": "javascript:alert(1)", "RecordingDuration": HUGE, "RecordingSid": "\x00"}),
    ("/webhooks/twilio/voice/recording?s=voicemail&l=en&a=account", {"RecordingUrl": "https://x/" + LONG}),
    ("/webhooks/twilio/voice/transcription", {"TranscriptionText": LONG + "\x00", "TranscriptionStatus": HUGE}),
    ("/webhooks/twilio/voice/queue?s=queued&l=en&a=account", {"QueueResult": LONG}),
])
def test_odd_signed_values_are_dropped_or_bounded_never_a_5xx(phone_svc, phone, customer, clock, path, extra):
    after_hours(clock)
    form = {"CallSid": SID, "From": PHONE, "To": LINE, **extra}

    answer = phone.post(path, content=urlencode(form), headers=signed(path, form))

    assert answer.status_code < 500, answer.text
    for call in calls(phone_svc):
        assert len(call.number) <= 40 and "\x00" not in call.number
    for ticket in tickets(phone_svc):
        for message in messages(phone_svc, ticket.id):
            assert "\x00" not in message.body and "javascript:" not in message.body


def test_an_unreadable_or_huge_body_is_refused(phone_svc, phone):
    path = "/webhooks/twilio/voice"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}

    assert phone.post(path, content=b"\xff\xfe=\x00", headers=headers).status_code == 403
    assert phone.post(path, content=b"a=" + b"x" * 1_100_000, headers=headers).status_code == 413
    assert phone.post(path, content="&".join(["a=1"] * 1000), headers=headers).status_code == 403
    assert phone_svc.intake.events() == []


@pytest.mark.parametrize("body", [
    {"event": "newCall", "direction": "in", "callId": 2**70},
    {"event": "newCall", "direction": "in", "callId": -1},
    {"event": "newCall", "direction": "in", "callId": "a\x00b"},
    {"event": "newCall", "direction": "in", "callId": LONG},
    {"event": ["newCall"], "direction": "in", "callId": "1"},
    {"event": {"a": 1}, "direction": "in", "callId": "1"},
    {"event": "newCall", "direction": 1, "callId": "1"},
    {"event": "newCall", "direction": "in", "callId": True},
    {"event": "newCall\x00", "direction": "in", "callId": "1"},
])
def test_hostile_cti_events_answer_4xx(phone_svc, phone, body):
    answer = phone.post(f"/api/v1/cti/{CTI_TOKEN}", json=body)

    assert 400 <= answer.status_code < 500, answer.text
    assert phone_svc.intake.events() == []


@pytest.mark.parametrize("fields", [
    {"from": 2**70, "to": LONG, "user": [{"a": 1}, 2**70, "\x00"], "queue": LONG, "answeringNumber": [1],
     "cause": LONG},
    {"from": "\x00" * 30, "to": None, "user": "x" * 5000, "queue": "q\x00", "answeringNumber": "a\x00@b.c"},
])
def test_hostile_cti_fields_are_dropped_or_bounded(phone_svc, phone, customer, fields):
    for event in ("newCall", "answer", "hangup"):
        answer = phone.post(f"/api/v1/cti/{CTI_TOKEN}",
                            json={"event": event, "direction": "in", "callId": "pbx-8", "cause": "noAnswer", **fields})
        assert answer.status_code == 200, answer.text
    [call] = calls(phone_svc)
    assert call.number == "" and (call.queue is None or len(call.queue) <= 80)
    assert "\x00" not in (call.queue or "") + (call.answered_by or "")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"12", b"null", b"{", b"\xff", b"{\"a\": " * 5000])
def test_a_cti_body_of_the_wrong_shape_answers_422(phone_svc, phone, raw):
    answer = phone.post(f"/api/v1/cti/{CTI_TOKEN}", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422


def test_cti_refuses_a_nul_or_an_over_long_token_and_unknown_query_parameters(phone_svc, phone):
    assert phone.post("/api/v1/cti/a%00b", json={}).status_code == 422
    assert phone.post("/api/v1/cti/" + "x" * 5000, json={}).status_code == 422
    assert phone.post(f"/api/v1/cti/{CTI_TOKEN}?event=newCall", json={}).status_code == 422
    assert phone_svc.intake.events() == []


# ---------------------------------------------------------------- business hours


def test_the_line_opens_on_the_calendars_hours_and_not_on_its_holidays(phone_svc, clock):
    calendar = Calendar.parse("Asia/Jakarta", HOURS, ["2026-12-25"])
    wednesday_10 = clock.now()

    assert is_open(wednesday_10, calendar) and phone_svc.desk.calls.line_open(wednesday_10, CALENDAR)
    assert not is_open(wednesday_10 + timedelta(hours=12), calendar)
    assert not is_open(wednesday_10 + timedelta(days=3), calendar)  # Saturday
    christmas = wednesday_10 + timedelta(days=30)  # Friday 25 December
    assert not phone_svc.desk.calls.line_open(christmas, CALENDAR)
    assert phone_svc.desk.calls.line_open(christmas, None)  # no calendar: around the clock
    assert phone_svc.desk.calls.line_open(christmas, "no such calendar")
