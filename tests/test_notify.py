"""Delivering codes: the transactional outbox, real SMTP and a Twilio-style SMS provider.

The SMTP server is aiosmtpd on loopback; the SMS provider is a small `http.server` speaking
Twilio's Messages API. Both record exactly what reached them, so every test can say what was
(and was not) sent.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select

from gopaycare.channels.email_smtp import SmtpEmailSender
from gopaycare.channels.registry import senders_from_settings
from gopaycare.channels.sms_twilio import TwilioSmsSender
from gopaycare.container import Services, build
from gopaycare.platform.clock import FakeClock
from gopaycare.platform.errors import RateLimited, ValidationFailed
from gopaycare.platform.outbox import OutboxMessage
from gopaycare.platform.settings import Settings, load_settings
from tests.fake_api import serve
from tests.fake_smtp import SmtpServer, running_smtp
from tests.helpers import free_port

from .conftest import PASSWORD, PIN, START

SENDER = "GoPay Care <care@gopay.test>"
SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token-1"
PHONE = "+6281234560001"
EMAIL = "wang@example.com"


# ---------------------------------------------------------------- the SMTP server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


# ---------------------------------------------------------------- the SMS provider


@dataclass
class FakeTwilio:
    """Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`, on loopback.

    `fail_with` set to an HTTP status makes it refuse every message with that status."""

    base_url: str = ""
    fail_with: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, str]] = field(default_factory=list)

    def handle(self, path: str, authorization: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.requests.append({"path": path, "authorization": authorization, "form": form})
        if path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        expected = "Basic " + base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate"}
        if self.fail_with is not None:
            return self.fail_with, {"code": 20500, "message": "Internal Server Error"}
        if not {"To", "From", "Body"} <= form.keys():
            return 400, {"code": 21604, "message": "A field is missing"}
        sid = f"SM{len(self.delivered) + 1:032x}"
        self.delivered.append({**form, "sid": sid})
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "from": form["From"], "body": form["Body"]}


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with serve(lambda r: fake.handle(r.path, r.headers.get("authorization"), r.body)) as api:
        fake.base_url = api.base_url
        yield fake


# ---------------------------------------------------------------- services wired to them


def _services(settings: Settings, clock: FakeClock, senders: dict[str, Any]) -> Services:
    services = build(settings, clock=clock, immediate_jobs=True, senders=senders)
    services.wallet.bootstrap()
    return services


@pytest.fixture
def mail_svc(settings: Settings, clock: FakeClock, smtp: SmtpServer) -> Iterator[Services]:
    services = _services(settings, clock, {"email": SmtpEmailSender(smtp.host, smtp.port, SENDER)})
    yield services
    services.close()


@pytest.fixture
def sms_svc(settings: Settings, clock: FakeClock, twilio: FakeTwilio) -> Iterator[Services]:
    sender = TwilioSmsSender(twilio.base_url, SID, AUTH_TOKEN, "GoPay")
    services = _services(settings, clock, {"sms": sender})
    yield services
    services.close()


def _customer(services: Services, *, language: str = "en", phone: str = PHONE, mail: str | None = EMAIL) -> int:
    return services.identity.register(phone=phone, name="Wang Xiaoming", email=mail, id_number="3171012345670001",
                                      password=PASSWORD, pin=PIN, language=language).id


def _outbox(services: Services) -> list[OutboxMessage]:
    with services.db.read() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        s.expunge_all()
        return rows


def _only_message(services: Services) -> OutboxMessage:
    rows = _outbox(services)
    assert len(rows) == 1
    return rows[0]


def _code_in(text: str) -> str:
    codes = re.findall(r"\b\d{6}\b", text)
    assert len(codes) == 1, text
    return codes[0]


# ---------------------------------------------------------------- email over SMTP


def test_email_code_arrives_over_smtp_and_the_outbox_row_is_sent(mail_svc, smtp, clock):
    # Given a customer with an email address and a real SMTP server behind the outbox
    customer = _customer(mail_svc)

    # When a password-reset code is sent by email
    sent = mail_svc.identity.send_code(customer, "password_reset", "email")

    # Then exactly one mail reached the server, from the configured sender to the customer
    assert sent.channel == "email"
    assert sent.destination_masked == "w***g@example.com"
    assert len(smtp.inbox.envelopes) == 1
    envelope = smtp.inbox.envelopes[0]
    assert envelope.mail_from == "care@gopay.test"
    assert envelope.rcpt_tos == [EMAIL]
    mail = smtp.inbox.messages()[0]
    assert mail["To"] == EMAIL
    assert mail["From"] == SENDER
    assert mail["Subject"] == "Your GoPay verification code"
    body = mail.get_content()
    code = _code_in(body)
    assert body.strip() == (f"GoPay: your code is {code} to reset your password. It expires in 5 minutes. "
                            "Never share it with anyone, not even GoPay staff.")
    # And the outbox row is sent, once, with the Message-ID as the provider's id
    row = _only_message(mail_svc)
    assert (row.channel, row.destination, row.purpose, row.customer_id) == ("email", EMAIL, "password_reset", customer)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.provider_message_id == f"<outbox-{row.id}@gopaycare>" == mail["Message-ID"]
    assert row.sent_at == clock.now() == START
    assert row.subject == "Your GoPay verification code"
    # And the mailed code is the live one
    mail_svc.identity.verify_code(customer, "password_reset", code)


def test_email_in_chinese_keeps_its_subject_and_body_intact(mail_svc, smtp):
    # Given a customer whose language is Simplified Chinese
    customer = _customer(mail_svc, language="zh-CN")

    # When a code is mailed
    mail_svc.identity.send_code(customer, "password_reset", "email")

    # Then the non-ASCII subject and body decode back exactly
    mail = smtp.inbox.messages()[0]
    assert mail["Subject"] == "GoPay 验证码"
    body = mail.get_content()
    code = _code_in(body)
    assert body.strip() == f"【GoPay】您的验证码是 {code}，用于重置密码，5分钟内有效。请勿告诉任何人，包括客服。"


def test_unreachable_smtp_server_leaves_the_message_queued_with_the_error(settings, clock):
    # Given an SMTP sender pointing at a port where nothing listens
    services = _services(settings, clock, {"email": SmtpEmailSender("127.0.0.1", free_port(), SENDER, timeout=2)})
    try:
        customer = _customer(services)

        # When a code is sent by email (the code itself is still issued)
        services.identity.send_code(customer, "password_reset", "email")

        # Then the message waits in the outbox with one attempt and the reason
        row = _only_message(services)
        assert (row.status, row.attempts, row.sent_at, row.provider_message_id) == ("queued", 1, None, None)
        assert row.last_error == "SMTP delivery failed: ConnectionRefusedError"
    finally:
        services.close()


# ---------------------------------------------------------------- SMS through the provider


def test_sms_code_is_posted_to_the_provider_with_basic_auth(sms_svc, twilio, clock):
    # Given a customer and a Twilio-compatible provider
    customer = _customer(sms_svc)

    # When a login code is sent by SMS
    sent = sms_svc.identity.send_code(customer, "login", "sms")

    # Then the provider got one authenticated message with To, From and Body
    assert sent.destination_masked == "0812****0001"
    assert len(twilio.requests) == 1
    assert twilio.requests[0]["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert len(twilio.delivered) == 1
    sms = twilio.delivered[0]
    assert (sms["To"], sms["From"]) == (PHONE, "GoPay")
    code = _code_in(sms["Body"])
    assert sms["Body"] == (f"GoPay: your code is {code} to log in. It expires in 5 minutes. "
                           "Never share it with anyone, not even GoPay staff.")
    # And the provider's message id is stored on the sent row
    row = _only_message(sms_svc)
    assert (row.channel, row.destination, row.status, row.attempts) == ("sms", PHONE, "sent", 1)
    assert row.provider_message_id == sms["sid"] == "SM" + "0" * 31 + "1"
    assert row.sent_at == clock.now()
    assert row.subject is None
    sms_svc.identity.verify_code(customer, "login", code)


def test_provider_error_keeps_the_message_queued_then_a_later_delivery_sends_it_once(sms_svc, twilio, clock):
    # Given a provider that answers 500
    customer = _customer(sms_svc)
    twilio.fail_with = 500

    # When a code is sent
    sms_svc.identity.send_code(customer, "login", "sms")

    # Then the message stays queued, with the attempt, the provider's answer and the next try recorded
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "SMS provider answered 500")
    assert (row.sent_at, row.provider_message_id, row.next_attempt_at) == (None, None, START + timedelta(seconds=30))
    assert len(twilio.requests) == 1 and twilio.delivered == []

    # When the provider recovers: a delivery before the backoff is over does not send it
    twilio.fail_with = None
    assert sms_svc.outbox.deliver(row.id) == "queued"
    assert len(twilio.requests) == 1

    # When the backoff is over, it is delivered, once: a repeated delivery sends nothing more
    clock.advance(seconds=30)
    assert sms_svc.outbox.deliver(row.id) == "sent"
    assert sms_svc.outbox.deliver(row.id) == "sent"
    assert len(twilio.delivered) == 1
    assert len(twilio.requests) == 2
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "SMS provider answered 500")
    assert row.provider_message_id == twilio.delivered[0]["sid"]


def test_each_failed_attempt_doubles_the_wait_and_is_counted(sms_svc, twilio, clock):
    # Given a provider that keeps answering 503
    customer = _customer(sms_svc)
    twilio.fail_with = 503
    sms_svc.identity.send_code(customer, "login", "sms")
    message_id = _only_message(sms_svc).id

    # When each retry runs as soon as it is due
    waits = []
    for _ in range(3):
        row = _only_message(sms_svc)
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at)
        assert sms_svc.outbox.deliver(message_id) == "queued"

    # Then the waits were 30, 60 and 120 seconds, and every attempt is counted (not rolled back)
    assert waits == [30, 60, 120]
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.last_error) == ("queued", 4, "SMS provider answered 503")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=240)


def _notify(svc, clock, body="GoPay: your refund is on its way"):
    """A notification that does not expire (unlike a code), written as a use case would."""
    with svc.db.transaction() as s:
        return svc.outbox.queue(s, channel="sms", destination=PHONE, body=body, purpose="notice",
                                now=clock.now()).id


def test_fifth_failed_attempt_gives_up_and_the_sweep_leaves_it_alone(sms_svc, twilio, clock):
    # Given a provider that keeps failing and a message with one failed attempt
    twilio.fail_with = 500
    message_id = _notify(sms_svc, clock)

    # When it is tried three more times, then a fifth, each when due
    for expected in ("queued", "queued", "queued", "failed"):
        clock.set(_only_message(sms_svc).next_attempt_at)
        assert sms_svc.outbox.deliver(message_id) == expected

    # Then it is failed after exactly 5 attempts and no sweep picks it up again
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        "failed", 5, "SMS provider answered 500", None)
    twilio.fail_with = None
    clock.advance(minutes=10)
    assert sms_svc.outbox.due_ids() == []
    assert sms_svc.tasks["sweep_outbox"].call_local() == 0
    assert len(twilio.requests) == 5 and twilio.delivered == []


def test_a_code_is_not_sent_after_it_expired(sms_svc, twilio, clock):
    # Given a code whose delivery failed, with a provider down until after the code's 5 minutes
    customer = _customer(sms_svc)
    twilio.fail_with = 500
    sms_svc.identity.send_code(customer, "login", "sms")
    for _ in range(3):  # tries at 10:00:30, 10:01:30 and 10:03:30 fail too
        clock.set(_only_message(sms_svc).next_attempt_at)
        sms_svc.outbox.deliver(_only_message(sms_svc).id)

    # When the provider is back for the next try (10:07:30, after the code expired at 10:05)
    twilio.fail_with = None
    clock.set(_only_message(sms_svc).next_attempt_at)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 1

    # Then the stale code is not sent: it expired, and the customer asks for a new one
    row = _only_message(sms_svc)
    assert (row.status, row.attempts) == ("expired", 4)
    assert twilio.delivered == []


def test_a_message_the_provider_refuses_fails_at_once(sms_svc, twilio, clock):
    # Given a provider that says the number is invalid (400: sending it again cannot help)
    customer = _customer(sms_svc)
    twilio.fail_with = 400

    # When a code is sent
    sms_svc.identity.send_code(customer, "login", "sms")

    # Then it failed after one attempt, and nothing tries it again
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "SMS provider refused the message (400)")
    clock.advance(hours=1)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 0
    assert len(twilio.requests) == 1


def test_unreachable_provider_is_a_delivery_error(settings, clock):
    # Given an SMS provider URL where nothing listens
    sender = TwilioSmsSender(f"http://127.0.0.1:{free_port()}", SID, AUTH_TOKEN, "GoPay", timeout=2)
    services = _services(settings, clock, {"sms": sender})
    try:
        customer = _customer(services)

        # When a code is sent
        services.identity.send_code(customer, "login", "sms")

        # Then the message is queued with the connection error
        row = _only_message(services)
        assert (row.status, row.attempts, row.last_error) == ("queued", 1, "SMS provider unreachable: ConnectError")
    finally:
        services.close()


def test_wrong_credentials_are_refused_by_the_provider(settings, clock, twilio):
    # Given a sender with the wrong auth token
    services = _services(settings, clock, {"sms": TwilioSmsSender(twilio.base_url, SID, "wrong", "GoPay")})
    try:
        customer = _customer(services)

        # When a code is sent
        services.identity.send_code(customer, "login", "sms")

        # Then the provider refused it (401) and nothing was delivered
        row = _only_message(services)
        assert (row.status, row.last_error) == ("queued", "SMS provider answered 401")
        assert twilio.delivered == []
    finally:
        services.close()


# ---------------------------------------------------------------- no sender, rollbacks, the sweep


def test_without_a_sender_messages_are_held_in_the_outbox(svc):
    # Given services with no SMTP host and no SMS provider (the conftest `svc`)
    customer = _customer(svc)

    # When codes are sent by SMS and by email
    svc.identity.send_code(customer, "login", "sms")
    svc.identity.send_code(customer, "password_reset", "email")

    # Then both are held, never attempted, and the demo can read them
    rows = _outbox(svc)
    assert [(r.channel, r.status, r.attempts, r.last_error, r.sent_at) for r in rows] == [
        ("sms", "held", 0, None, None), ("email", "held", 0, None, None)]
    assert [m.purpose for m in svc.outbox.messages_to(PHONE)] == ["login"]
    assert [m.subject for m in svc.outbox.messages_to(EMAIL)] == ["Your GoPay verification code"]
    # And delivering a held message again changes nothing
    assert svc.outbox.deliver(rows[0].id) == "held"
    assert _outbox(svc)[0].attempts == 0
    assert svc.outbox.deliver(999_999) == "missing"


def test_a_code_request_that_fails_validation_sends_nothing(sms_svc, twilio):
    # Given a customer without an email address
    customer = _customer(sms_svc, mail=None)

    # When codes are asked for an unknown purpose, and by email
    with pytest.raises(ValidationFailed) as unknown:
        sms_svc.identity.send_code(customer, "nonsense", "sms")
    with pytest.raises(ValidationFailed) as no_email:
        sms_svc.identity.send_code(customer, "login", "email")

    # Then nothing was queued or sent
    assert unknown.value.details == {"field": "purpose"}
    assert no_email.value.code == "no_email"
    assert _outbox(sms_svc) == []
    assert twilio.requests == []


def test_a_rate_limited_resend_sends_nothing_more(sms_svc, twilio, clock):
    # Given a code sent a moment ago
    customer = _customer(sms_svc)
    sms_svc.identity.send_code(customer, "login", "sms")

    # When another is asked 30 seconds later
    clock.advance(seconds=30)
    with pytest.raises(RateLimited) as refused:
        sms_svc.identity.send_code(customer, "login", "sms")

    # Then it is refused and only the first message went out
    assert refused.value.code == "code_resend_too_soon"
    assert refused.value.details["retry_at"] == "2026-11-25T03:01:00+00:00"
    assert len(_outbox(sms_svc)) == 1
    assert len(twilio.delivered) == 1


def test_a_rolled_back_transaction_sends_nothing(sms_svc, twilio, clock):
    # Given a unit of work that queues a message and then fails
    class Boom(Exception):
        pass

    # When it rolls back
    with pytest.raises(Boom), sms_svc.db.transaction() as s:
        sms_svc.outbox.queue(s, channel="sms", destination=PHONE, body="GoPay: test 123456", purpose="login",
                             now=clock.now())
        raise Boom

    # Then the message neither exists nor reached the provider
    assert _outbox(sms_svc) == []
    assert twilio.requests == []

    # And the next committed one is delivered on its own (no stale hook from the rollback)
    with sms_svc.db.transaction() as s:
        sms_svc.outbox.queue(s, channel="sms", destination=PHONE, body="GoPay: second", purpose="login",
                             now=clock.now())
    assert [d["Body"] for d in twilio.delivered] == ["GoPay: second"]


def test_the_sweep_delivers_a_message_once_its_backoff_is_over(sms_svc, twilio, clock):
    # Given a message whose delivery failed at 10:00:00 (next try at 10:00:30)
    customer = _customer(sms_svc)
    twilio.fail_with = 500
    sms_svc.identity.send_code(customer, "login", "sms")
    message_id = _only_message(sms_svc).id
    twilio.fail_with = None

    # When the sweep runs 29 seconds later
    clock.advance(seconds=29)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 0
    assert twilio.delivered == []
    assert _only_message(sms_svc).status == "queued"

    # When it runs at 10:00:30
    clock.advance(seconds=1)
    assert sms_svc.outbox.due_ids() == [message_id]
    assert sms_svc.tasks["sweep_outbox"].call_local() == 1

    # Then the message is sent once, and the next sweep finds nothing
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, clock.now())
    assert sms_svc.tasks["sweep_outbox"].call_local() == 0
    assert len(twilio.delivered) == 1


def test_the_sweep_picks_up_a_message_whose_job_was_lost(sms_svc, twilio, clock):
    # Given a message committed at 10:00:00 whose delivery job never ran (a crash after commit)
    sms_svc.outbox.dispatch = lambda message_id: None
    _customer(sms_svc)
    with sms_svc.db.transaction() as s:
        sms_svc.outbox.queue(s, channel="sms", destination=PHONE, body="GoPay: hello", purpose="login",
                             now=clock.now())

    # When the sweep runs at 10:01:00, then at 10:01:01
    clock.advance(seconds=60)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 0
    clock.advance(seconds=1)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 1

    # Then it was left to its own job for a minute, and then sent once
    assert [d["Body"] for d in twilio.delivered] == ["GoPay: hello"]
    assert (_only_message(sms_svc).status, _only_message(sms_svc).attempts) == ("sent", 1)


def test_the_sweep_retries_and_counts_a_still_failing_message(sms_svc, twilio, clock):
    # Given a queued message whose backoff is over and a provider still down
    customer = _customer(sms_svc)
    twilio.fail_with = 500
    sms_svc.identity.send_code(customer, "login", "sms")
    clock.advance(minutes=2)

    # When the sweep runs (the failure does not escape the task: the outbox schedules its next try)
    assert sms_svc.tasks["sweep_outbox"].call_local() == 1

    # Then the attempt is counted and the message is still queued, for 60 seconds later
    row = _only_message(sms_svc)
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 2, clock.now() + timedelta(seconds=60))


def test_delivery_logs_mask_the_destination_and_never_hold_the_code(sms_svc, twilio, caplog):
    # Given a customer
    customer = _customer(sms_svc)

    # When a code is delivered
    with caplog.at_level(logging.INFO, logger="gopaycare"):
        sms_svc.identity.send_code(customer, "login", "sms")

    # Then the log says where it went, masked, and never the code or the full number
    code = _code_in(twilio.delivered[0]["Body"])
    delivered = [r for r in caplog.records if r.getMessage() == "message delivered"]
    assert len(delivered) == 1
    assert (delivered[0].to, delivered[0].channel) == ("0812****0001", "sms")
    for record in caplog.records:
        dump = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        assert code not in dump
        assert PHONE not in dump


# ---------------------------------------------------------------- settings


def test_senders_come_from_settings_only_when_fully_configured(tmp_path):
    # Given settings with SMTP and an incomplete SMS provider (no auth token)
    base = {"database_url": f"sqlite:///{tmp_path / 'x.db'}", "jobs_path": str(tmp_path / "jobs.db")}
    partial = load_settings(**base, smtp_host="mail.internal", smtp_port=2525,
                            sms_provider_url="https://api.twilio.test", sms_account_sid=SID)
    full = load_settings(**base, sms_provider_url="https://api.twilio.test/", sms_account_sid=SID,
                         sms_auth_token=AUTH_TOKEN, sms_from="+15005550006")

    # When senders are built from them
    from_partial = senders_from_settings(partial)
    from_full = senders_from_settings(full)

    # Then only complete configurations give senders
    assert set(from_partial) == {"email"}
    smtp_sender = from_partial["email"]
    assert isinstance(smtp_sender, SmtpEmailSender)
    assert (smtp_sender.host, smtp_sender.port, smtp_sender.sender) == ("mail.internal", 2525, SENDER)
    assert set(from_full) == {"sms"}
    sms_sender = from_full["sms"]
    assert isinstance(sms_sender, TwilioSmsSender)
    assert sms_sender.url == f"https://api.twilio.test/2010-04-01/Accounts/{SID}/Messages.json"
    assert (sms_sender.auth, sms_sender.from_number) == ((SID, AUTH_TOKEN), "+15005550006")
    assert senders_from_settings(load_settings(**base)) == {}


def test_outbox_count_is_exact_after_many_codes(sms_svc, twilio, clock):
    # Given a customer who asks for a code every minute for five minutes
    customer = _customer(sms_svc)
    for _ in range(5):
        sms_svc.identity.send_code(customer, "login", "sms")
        clock.advance(seconds=60)

    # When the hourly limit is reached
    with pytest.raises(RateLimited):
        sms_svc.identity.send_code(customer, "login", "sms")

    # Then exactly five messages were written and delivered, one each
    with sms_svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.status == "sent")).scalar_one() == 5
    assert len(twilio.delivered) == 5
    assert len({d["sid"] for d in twilio.delivered}) == 5


def test_a_message_being_sent_is_not_sent_twice_and_an_abandoned_claim_expires(settings, clock):
    """The send happens outside any transaction; a claim keeps a second worker (or the sweep) off it,
    and a worker that died mid-send leaves a claim that expires."""
    from gopaycare.container import build
    from gopaycare.platform.outbox import OutboxMessage

    class Recorder:
        def __init__(self):
            self.bodies, self.inside = [], None

        def send(self, message):
            # While this send runs, another worker tries the same message
            self.inside = svc.outbox.deliver(message.id) if self.inside is None else self.inside
            self.bodies.append(message.body)
            return "sms-1"

    sender = Recorder()
    svc = build(settings, clock=clock, immediate_jobs=True, senders={"sms": sender})
    svc.wallet.bootstrap()
    try:
        customer = svc.identity.register(phone="+6281230000001", name="Claim Test", password="Secret-pass1",
                                         pin="258147", language="en")
        svc.identity.send_code(customer.id, "login", "sms")
        assert sender.inside == "sending" and len(sender.bodies) == 1

        # A worker that claimed a message and died: the sweep leaves it alone until the claim expires
        with svc.db.transaction() as s:
            row = s.get(OutboxMessage, 1)
            row.status, row.claimed_until = "queued", clock.now() + timedelta(seconds=120)
        clock.advance(seconds=90)
        assert svc.outbox.due_ids() == []
        clock.advance(seconds=31)
        assert svc.outbox.due_ids() == [1]
        assert svc.outbox.deliver(1) == "sent" and len(sender.bodies) == 2
    finally:
        svc.close()
