"""One-time codes: 6 digits, hashed at rest, 300 s expiry, single use, 5 guesses, rate limits,
never logged, written in the customer's language."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gopaycare.identity.models import OneTimeCode
from gopaycare.platform import audit
from gopaycare.platform.errors import NotFound, RateLimited, ValidationFailed
from gopaycare.platform.outbox import OutboxMessage
from tests.conftest import START

PHONE = "+6281000000001"  # the first customer made by make_customer
EMAIL = "customer1@example.com"
CODE = re.compile(r"\b(\d{6})\b")


# ---------------------------------------------------------------- helpers


def codes_sent_to(svc: Any, destination: str) -> list[str]:
    """The codes in the messages to one phone or email, oldest first."""
    return [CODE.search(m.body).group(1) for m in svc.outbox.messages_to(destination)]


def last_code(svc: Any, destination: str = PHONE) -> str:
    return codes_sent_to(svc, destination)[-1]


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def code_rows(svc: Any) -> list[dict[str, Any]]:
    """Every stored code row, all columns (through the ORM, so times are aware UTC on both backends)."""
    columns = [c.key for c in OneTimeCode.__table__.columns]
    with svc.db.read() as s:
        return [{c: getattr(row, c) for c in columns}
                for row in s.scalars(select(OneTimeCode).order_by(OneTimeCode.id))]


def count(svc: Any, model: Any) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def stored(svc: Any) -> tuple[list[dict[str, Any]], int, int]:
    """What sending or spending a code could change."""
    with svc.db.read() as s:
        audit_count = s.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
    return code_rows(svc), count(svc, OutboxMessage), audit_count


def actions(svc: Any, customer_id: int) -> list[str]:
    with svc.db.read() as s:
        return [e.action for e in audit.history(s, "customer", customer_id)]


# ---------------------------------------------------------------- sending


def test_a_code_is_six_digits_sent_by_sms(svc, make_customer):
    # Given a customer
    customer = make_customer()

    # When a step-up code is sent
    sent = svc.identity.send_code(customer, "step_up")

    # Then the answer names the channel, the masked phone and the timings
    assert (sent.channel, sent.destination_masked) == ("sms", "0810****0001")
    assert sent.expires_at == START + timedelta(seconds=300)
    assert sent.resend_available_at == START + timedelta(seconds=60)
    # And one message with a 6-digit code is held in the outbox for the phone
    [message] = svc.outbox.messages_to(PHONE)
    assert (message.channel, message.purpose, message.status, message.subject, message.customer_id) == (
        "sms", "step_up", "held", None, customer)
    code = CODE.search(message.body).group(1)
    assert len(code) == 6 and code.isdigit()
    # And the sending is audited with the masked destination only
    with svc.db.read() as s:
        [entry] = [e for e in audit.history(s, "customer", customer) if e.action == "code.sent"]
    assert entry.details == {"purpose": "step_up", "channel": "sms", "to": "0810****0001"}


def test_a_code_is_stored_only_as_a_keyed_hash(svc, make_customer):
    # Given a code sent to a customer
    customer = make_customer()
    sent = svc.identity.send_code(customer, "step_up")
    code = last_code(svc)

    # Then its row has the hash of (row id, code) and no column holds the code in clear
    [row] = code_rows(svc)
    assert row["id"] == sent.code_id
    assert row["code_hash"] == svc.identity.hasher.keyed(f"{row['id']}:{code}")
    assert (row["customer_id"], row["purpose"], row["channel"], row["destination"]) == (
        customer, "step_up", "sms", PHONE)
    assert (row["attempts"], row["used_at"]) == (0, None)
    for column, value in row.items():
        if column != "destination":
            assert code not in str(value), column


def test_email_code_goes_to_the_email_with_a_subject(svc, make_customer):
    customer = make_customer()

    sent = svc.identity.send_code(customer, "password_reset", "email")

    assert (sent.channel, sent.destination_masked) == ("email", "c***1@example.com")
    [message] = svc.outbox.messages_to(EMAIL)
    assert (message.channel, message.subject, message.status) == ("email", "Your GoPay verification code", "held")
    assert svc.outbox.messages_to(PHONE) == []


def test_email_code_without_an_email_is_refused_and_stores_nothing(svc, make_customer):
    # Given a customer without an email address
    customer = make_customer(email=False)
    before = stored(svc)

    # When a code is asked by email
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.send_code(customer, "step_up", "email")

    # Then it is refused and nothing was stored or queued
    assert (exc.value.code, exc.value.details) == ("no_email", {"field": "channel"})
    assert stored(svc) == before


@pytest.mark.parametrize(("purpose", "channel", "field"), [
    ("launch_missiles", "sms", "purpose"),
    ("step_up", "pigeon", "channel"),
])
def test_unknown_purpose_or_channel_is_refused(svc, make_customer, purpose, channel, field):
    customer = make_customer()
    before = stored(svc)

    with pytest.raises(ValidationFailed) as exc:
        svc.identity.send_code(customer, purpose, channel)

    assert exc.value.details == {"field": field}
    assert stored(svc) == before


def test_sending_to_an_unknown_customer_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.identity.send_code(424242, "step_up")
    assert stored(svc) == ([], 0, 0)


@pytest.mark.parametrize(("language", "body", "subject"), [
    ("zh-CN", "【GoPay】您的验证码是 {code}，用于确认身份，5分钟内有效。请勿告诉任何人，包括客服。", "GoPay 验证码"),
    ("en", "GoPay: your code is {code} to confirm it is you. It expires in 5 minutes. "
           "Never share it with anyone, not even GoPay staff.", "Your GoPay verification code"),
    ("id", "GoPay: kode Anda {code} untuk konfirmasi identitas. Berlaku 5 menit. "
           "Jangan berikan kode ini kepada siapa pun, termasuk petugas GoPay.", "Kode verifikasi GoPay Anda"),
])
def test_messages_are_in_the_customers_language(svc, make_customer, clock, language, body, subject):
    # Given a customer who uses the app in this language
    customer = make_customer(language=language)

    # When codes are sent by SMS and by email
    svc.identity.send_code(customer, "step_up", "sms")
    clock.advance(seconds=60)
    svc.identity.send_code(customer, "step_up", "email")

    # Then both texts are in that language, with the code
    [sms] = svc.outbox.messages_to(PHONE)
    assert sms.body == body.format(code=last_code(svc, PHONE))
    [mail] = svc.outbox.messages_to(EMAIL)
    assert mail.body == body.format(code=last_code(svc, EMAIL))
    assert mail.subject == subject


@pytest.mark.parametrize(("purpose", "words"), [
    ("password_reset", "atur ulang kata sandi"),
    ("pin_reset", "atur ulang PIN"),
    ("login", "masuk"),
])
def test_the_message_names_the_purpose_in_the_customers_language(svc, make_customer, purpose, words):
    customer = make_customer(language="id")

    svc.identity.send_code(customer, purpose)

    [message] = svc.outbox.messages_to(PHONE)
    assert message.body.startswith(f"GoPay: kode Anda {last_code(svc)} untuk {words}. Berlaku 5 menit.")


# ---------------------------------------------------------------- spending


def test_a_code_is_valid_at_299_seconds(svc, make_customer, clock):
    # Given a code sent now
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)

    # When it is used 1 second before it expires
    clock.advance(seconds=299)
    svc.identity.verify_code(customer, "step_up", code)

    # Then it is accepted and spent, and the check is audited
    [row] = code_rows(svc)
    assert row["used_at"] == START + timedelta(seconds=299)
    assert actions(svc, customer)[-1] == "code.verified"


def test_a_code_is_refused_at_300_seconds(svc, make_customer, clock):
    # Given a code sent now
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)

    # When it is used at exactly 300 s
    clock.advance(seconds=300)
    before = stored(svc)
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.verify_code(customer, "step_up", code)

    # Then it has expired, and nothing changed (not even a guess counted)
    assert (exc.value.code, exc.value.details) == ("code_expired", {"field": "code"})
    assert stored(svc) == before


def test_a_code_works_only_once(svc, make_customer, clock):
    # Given a code that was just used
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)
    svc.identity.verify_code(customer, "step_up", code)
    before = stored(svc)

    # When it is used again
    clock.advance(seconds=10)
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.verify_code(customer, "step_up", code)

    # Then it is refused as used, and nothing changed
    assert exc.value.code == "code_expired"
    assert stored(svc) == before


def test_a_code_surrounded_by_spaces_is_accepted(svc, make_customer):
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")

    svc.identity.verify_code(customer, "step_up", f" {last_code(svc)} ")

    assert code_rows(svc)[0]["used_at"] == START


def test_a_newer_code_supersedes_the_older_one(svc, make_customer, clock, monkeypatch):
    # Given two codes for the same purpose, sent a minute apart (distinct by construction)
    customer = make_customer()
    fixed = iter(["111111", "222222"])
    monkeypatch.setattr(svc.identity.hasher, "new_code", lambda: next(fixed))
    svc.identity.send_code(customer, "step_up")
    clock.advance(seconds=60)
    svc.identity.send_code(customer, "step_up")
    older, newer = codes_sent_to(svc, PHONE)
    assert (older, newer) == ("111111", "222222")

    # When the older code is used, although it has not expired
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.verify_code(customer, "step_up", older)

    # Then it is refused, and the newer one is accepted
    assert exc.value.code == "code_invalid"
    svc.identity.verify_code(customer, "step_up", newer)
    first, second = code_rows(svc)
    assert (first["used_at"], second["used_at"]) == (None, START + timedelta(seconds=60))


def test_a_code_is_only_good_for_its_purpose_and_its_customer(svc, make_customer):
    # Given a step-up code for the first customer
    first, second = make_customer(), make_customer()
    svc.identity.send_code(first, "step_up")
    code = last_code(svc)
    before = stored(svc)

    # When it is used for a password reset, or by another customer
    for customer, purpose in ((first, "password_reset"), (second, "step_up")):
        with pytest.raises(ValidationFailed) as exc:
            svc.identity.verify_code(customer, purpose, code)
        # Then there is no such code for them, and nothing changed
        assert exc.value.code == "code_expired"
    assert stored(svc) == before


def test_five_wrong_guesses_spend_the_code(svc, make_customer):
    # Given a code
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)

    # When 5 wrong guesses are made, each is refused and its count is committed although the call raised
    for guess in range(1, 6):
        with pytest.raises(ValidationFailed) as exc:
            svc.identity.verify_code(customer, "step_up", other_than(code))
        assert (exc.value.code, exc.value.details) == ("code_invalid", {"field": "code", "attempts_left": 5 - guess})
        assert code_rows(svc)[0]["attempts"] == guess

    # Then even the right code is refused: the code is spent
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.verify_code(customer, "step_up", code)
    assert exc.value.code == "code_expired"
    [row] = code_rows(svc)
    assert (row["attempts"], row["used_at"]) == (5, None)
    assert "code.verified" not in actions(svc, customer)


def test_a_right_code_after_four_wrong_guesses_is_accepted(svc, make_customer):
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)
    for _ in range(4):
        with pytest.raises(ValidationFailed):
            svc.identity.verify_code(customer, "step_up", other_than(code))

    svc.identity.verify_code(customer, "step_up", code)

    [row] = code_rows(svc)
    assert (row["attempts"], row["used_at"]) == (4, START)


# ---------------------------------------------------------------- rate limits


def test_resend_within_a_minute_is_refused_with_the_wait(svc, make_customer, clock):
    # Given a code sent now
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    before = stored(svc)

    # When another is asked after 30 s and after 59 s
    for waited, left in ((30, 30), (59, 1)):
        clock.set(START + timedelta(seconds=waited))
        with pytest.raises(RateLimited) as exc:
            svc.identity.send_code(customer, "step_up")

        # Then it is refused, saying exactly how long to wait
        assert exc.value.code == "code_resend_too_soon"
        assert exc.value.details == {"retry_at": (START + timedelta(seconds=60)).isoformat(),
                                     "retry_after_seconds": left}
    # And nothing was stored or sent
    assert stored(svc) == before


def test_resend_is_allowed_at_sixty_seconds(svc, make_customer, clock):
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")

    clock.advance(seconds=60)
    sent = svc.identity.send_code(customer, "step_up")

    assert sent.expires_at == START + timedelta(seconds=360)
    assert len(codes_sent_to(svc, PHONE)) == 2


def test_the_resend_wait_is_per_purpose(svc, make_customer):
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")

    svc.identity.send_code(customer, "password_reset")

    assert [m.purpose for m in svc.outbox.messages_to(PHONE)] == ["step_up", "password_reset"]


def test_at_most_five_codes_an_hour(svc, make_customer, clock):
    # Given 5 codes sent a minute apart
    customer = make_customer()
    for minute in range(5):
        clock.set(START + timedelta(minutes=minute))
        svc.identity.send_code(customer, "step_up")

    # When a 6th is asked at 5 minutes, and again 1 s before the first code is an hour old
    for waited, left in ((timedelta(minutes=5), 3300), (timedelta(seconds=3599), 1)):
        clock.set(START + waited)
        before = stored(svc)
        with pytest.raises(RateLimited) as exc:
            svc.identity.send_code(customer, "step_up")

        # Then it is refused until the first code is an hour old, and nothing was stored or sent
        assert exc.value.code == "code_hourly_limit"
        assert exc.value.details == {"retry_at": (START + timedelta(hours=1)).isoformat(),
                                     "retry_after_seconds": left}
        assert stored(svc) == before

    # And once the first code is an hour old, a code can be sent again
    clock.set(START + timedelta(hours=1))
    svc.identity.send_code(customer, "step_up")
    assert len(codes_sent_to(svc, PHONE)) == 6


# ---------------------------------------------------------------- secrecy


def test_codes_never_appear_in_logs(svc, make_customer, clock, caplog):
    # Given everything logged, from every logger, at DEBUG
    customer = make_customer()
    caplog.set_level(logging.DEBUG)

    # When codes are sent, guessed wrongly, resent and used
    svc.identity.send_code(customer, "step_up")
    first = last_code(svc)
    with pytest.raises(ValidationFailed):
        svc.identity.verify_code(customer, "step_up", other_than(first))
    clock.advance(seconds=60)
    svc.identity.send_code(customer, "step_up", "email")
    second = last_code(svc, EMAIL)
    svc.identity.verify_code(customer, "step_up", second)

    # Then something was logged (delivery), but no code appears in any message or field
    assert caplog.records
    logged = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    for code in (first, second):
        assert code not in logged


def test_support_sees_when_the_last_code_was_sent_but_not_the_code(svc, make_customer, clock):
    customer = make_customer()
    svc.identity.send_code(customer, "step_up")
    code = last_code(svc)

    clock.advance(seconds=100)
    seen = svc.identity.last_code(customer, "step_up")

    assert seen == {"purpose": "step_up", "channel": "sms", "sent_at": START,
                    "expires_at": START + timedelta(seconds=300), "used": False, "live": True,
                    "to": "0810****0001"}
    assert code not in str(seen)
    clock.advance(seconds=200)
    assert svc.identity.last_code(customer)["live"] is False
    assert svc.identity.last_code(customer, "pin_reset") is None


def test_each_code_matches_only_its_own_row(svc, make_customer, clock):
    # Given codes of several purposes sent to two customers (no clear code stored: see above)
    first, second = make_customer(), make_customer()
    for customer in (first, second):
        for purpose in ("step_up", "password_reset", "pin_reset"):
            svc.identity.send_code(customer, purpose)
    clock.advance(seconds=1)

    # Then each code in the outbox (same order as the rows) matches only its own row's keyed hash
    codes = codes_sent_to(svc, PHONE) + codes_sent_to(svc, "+6281000000002")
    rows = code_rows(svc)
    assert len(codes) == len(rows) == 6
    keyed = svc.identity.hasher.keyed
    assert [keyed(f"{r['id']}:{c}") for r, c in zip(rows, codes, strict=True)] == [r["code_hash"] for r in rows]
    with svc.db.read() as s:
        assert [(p, c) for p, c in s.execute(select(OneTimeCode.purpose, OneTimeCode.customer_id)
                                             .order_by(OneTimeCode.id))] == [
            (p, c) for c in (first, second) for p in ("step_up", "password_reset", "pin_reset")]
