"""No account-existence oracle: `/auth/reset-codes`, `/auth/reset` and `/auth/login` answer alike
(status, body) and do the same work whether the account exists, is locked, paused, frozen or has no
email. The issue's cases: reset-codes 429 for an existing number and 202 for an unknown one; reset
401 vs 422; login answering `account_locked` without checking the password."""

from __future__ import annotations

from typing import Any

import pytest

from gopaycare.container import Services
from gopaycare.platform.audit import Actor

from .conftest import PASSWORD
from .helpers import codes_to

PHONE, LOCKED, FROZEN, PAUSED, NO_EMAIL = ("+6281234560001", "+6281234560002", "+6281234560003",
                                           "+6281234560004", "+6281234560005")
UNKNOWN = "+6281299990000"


@pytest.fixture
def accounts(svc: Services, make_customer, clock) -> dict[str, int]:
    ids = {phone: make_customer(phone=phone, email=phone != NO_EMAIL) for phone in (PHONE, LOCKED, FROZEN, PAUSED,
                                                                                   NO_EMAIL)}
    for _ in range(svc.settings.max_failed_logins):  # wrong PINs while signed in: the hard lock
        try:
            svc.identity.verify_pin(ids[LOCKED], "000000")
        except Exception:
            pass
    for _ in range(svc.settings.max_failed_logins):  # wrong passwords from anyone: the pause
        try:
            svc.identity.login_with_password(PAUSED, "wrong")
        except Exception:
            pass
    svc.identity.freeze(ids[FROZEN], actor=Actor.system(), reason="phone stolen")
    assert svc.identity.get(ids[LOCKED]).locked and svc.identity.get(ids[PAUSED]).login_paused_until
    return ids


def _same(response: Any) -> tuple[int, Any]:
    """What a caller can compare: the status and the body without its request id."""
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


def _client_at(svc: Services, n: int) -> Any:
    """A client of its own address: the route's rate limits are per address, and this test
    compares answers, not limits."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from gopaycare.web.app import create_app

    return TestClient(create_app(svc), client=(f"198.51.100.{n}", 40000))


LOGINS = [PHONE, LOCKED, FROZEN, PAUSED, NO_EMAIL, UNKNOWN, "not-a-phone", "nobody@example.com"]


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_reset_codes_answer_the_same_for_every_login(svc, accounts, channel):
    answers = {login: _same(_client_at(svc, n).post("/api/v1/auth/reset-codes", json={
        "login": login, "what": "password", "channel": channel})) for n, login in enumerate(LOGINS)}

    assert len(set(map(repr, answers.values()))) == 1, answers
    assert answers[PHONE][0] == 202 and answers[PHONE][1]["status"] == "sent_if_registered"


def test_reset_codes_answer_202_when_the_accounts_own_resend_rule_refuses(svc, accounts):
    # The account's own rule (one code a minute) is spent by the assistant, who knows the customer;
    # a stranger's request from elsewhere still gets the same 202, and no second code is sent.
    svc.recovery.start_reset(PHONE, "password")
    sent = len(codes_to(svc, PHONE))

    known = _same(_client_at(svc, 1).post("/api/v1/auth/reset-codes", json={"login": PHONE, "what": "password"}))
    unknown = _same(_client_at(svc, 2).post("/api/v1/auth/reset-codes", json={"login": UNKNOWN, "what": "password"}))

    assert known == unknown and known[0] == 202
    assert len(codes_to(svc, PHONE)) == sent


def test_a_code_is_sent_only_to_a_registered_address(svc, accounts):
    _client_at(svc, 1).post("/api/v1/auth/reset-codes", json={"login": PHONE, "what": "pin"})
    _client_at(svc, 2).post("/api/v1/auth/reset-codes", json={"login": UNKNOWN, "what": "pin"})
    assert len(codes_to(svc, PHONE)) == 1 and codes_to(svc, UNKNOWN) == []


def test_reset_codes_do_the_same_work_for_every_login_before_answering(svc, accounts):
    """The answer waits only for queueing the send, alike for every login: the lookup and the send
    (which take longer for a real account) are a job."""
    queued: list[tuple[str, str, str]] = []
    svc.recovery.send_later = lambda login, what, channel: queued.append((login, what, channel))

    for n, login in enumerate(LOGINS):
        assert _client_at(svc, n).post("/api/v1/auth/reset-codes", json={"login": login, "what": "pin"}) \
            .status_code == 202

    assert queued == [(login, "pin", "sms") for login in LOGINS]
    assert codes_to(svc, PHONE) == []  # nothing sent before the job runs
    assert svc.tasks["send_reset_code"].call_local(PHONE, "pin", "sms") == "sent"
    assert svc.tasks["send_reset_code"].call_local(UNKNOWN, "pin", "sms") == "no_account"
    assert len(codes_to(svc, PHONE)) == 1


def test_reset_answers_the_same_for_every_failure(svc, accounts, clock):
    svc.recovery.start_reset(PHONE, "password")  # a live code the guesses below miss
    svc.recovery.start_reset(FROZEN, "password")
    clock.advance(minutes=10)  # FROZEN's code has expired; PHONE gets a new one below
    svc.recovery.start_reset(PHONE, "password")
    body = {"what": "password", "code": "000000", "new_secret": "Another-pass1"}

    answers = {login: _same(_client_at(svc, n).post("/api/v1/auth/reset", json={"login": login, **body}))
               for n, login in enumerate(LOGINS)}

    assert len(set(map(repr, answers.values()))) == 1, answers
    status, error = answers[PHONE]
    assert status == 422 and error["error"]["code"] == "code_invalid"
    assert "attempts_left" not in error["error"]["details"]


def test_reset_still_works_and_lifts_the_pause(svc, accounts):
    svc.recovery.start_reset(PAUSED, "password")
    code = codes_to(svc, PAUSED)[-1].body.split("code is ")[-1][:6]
    answer = _client_at(svc, 1).post("/api/v1/auth/reset", json={"login": PAUSED, "what": "password", "code": code,
                                                                  "new_secret": "Another-pass1"})
    assert answer.status_code == 204
    assert _client_at(svc, 2).post("/api/v1/auth/login", json={"login": PAUSED, "password": "Another-pass1"}) \
        .status_code == 200


def test_login_with_a_wrong_password_answers_the_same_for_every_login(svc, accounts):
    answers = {login: _same(_client_at(svc, n).post("/api/v1/auth/login", json={"login": login, "password": "wrong"}))
               for n, login in enumerate(LOGINS)}

    assert len(set(map(repr, answers.values()))) == 1, answers
    assert answers[LOCKED][0] == 401 and answers[LOCKED][1]["error"]["code"] == "login_failed"


def test_every_login_path_does_one_password_hash_check(svc, accounts, monkeypatch):
    """The same argon2 work whatever the account's state (what a timing oracle measures)."""
    calls: list[str] = []
    verify = svc.identity.hasher.verify
    monkeypatch.setattr(svc.identity.hasher, "verify", lambda stored, secret: calls.append("v") or
                        verify(stored, secret))
    for n, login in enumerate(LOGINS):
        calls.clear()
        _client_at(svc, n).post("/api/v1/auth/login", json={"login": login, "password": "wrong"})
        assert calls == ["v"], login
    calls.clear()
    _client_at(svc, 20).post("/api/v1/auth/login", json={"login": LOCKED, "password": PASSWORD})
    assert calls == ["v"]  # a locked account checks the password before it says so


def test_only_the_right_password_learns_that_the_account_is_locked_or_paused(svc, accounts):
    locked = _client_at(svc, 1).post("/api/v1/auth/login", json={"login": LOCKED, "password": PASSWORD})
    paused = _client_at(svc, 2).post("/api/v1/auth/login", json={"login": PAUSED, "password": PASSWORD})
    assert locked.status_code == 403 and locked.json()["error"]["code"] == "account_locked"
    assert paused.status_code == 403 and paused.json()["error"]["code"] == "login_paused"


# ---------------------------------------------------------------- the assistant's anonymous identification


def _visitor_says(bot: Any, visitor: str, text: str) -> list[str]:
    return bot.chat(channel="web", identity_kind="visitor", identity_value=visitor, thread=f"visitor:{visitor}",
                    body=text, language="en").replies


def _shape(replies: list[str], phone: str) -> list[str]:
    """The replies with the number named masked out: what must not differ between numbers."""
    from gopaycare.platform.pii import mask_phone

    return [r.replace(mask_phone(phone) or "", "<number>") for r in replies]


def test_an_anonymous_chatter_cannot_tell_registered_frozen_or_unknown_numbers_apart(svc, accounts, bot):
    conversations = {}
    for n, phone in enumerate((PHONE, FROZEN, UNKNOWN)):
        visitor = f"v{n}"
        _visitor_says(bot, visitor, "my payment failed, why?")
        named = _visitor_says(bot, visitor, phone)
        guesses = [_visitor_says(bot, visitor, "000000") for _ in range(5)]
        conversations[phone] = [_shape(named, phone)] + guesses

    assert conversations[PHONE] == conversations[FROZEN] == conversations[UNKNOWN]
    assert "If <number> is registered" in conversations[UNKNOWN][0][0]
    assert len(codes_to(svc, PHONE)) == len(codes_to(svc, FROZEN)) == 1 and codes_to(svc, UNKNOWN) == []


def test_an_anonymous_chatter_cannot_send_codes_to_many_numbers(svc, accounts, bot):
    _visitor_says(bot, "v1", "my payment failed, why?")
    for phone in (PHONE, LOCKED, FROZEN, PAUSED):
        last = _visitor_says(bot, "v1", phone)
        for _ in range(5):  # wrong guesses until the chatter may name another number
            _visitor_says(bot, "v1", "000000")
    assert "too many" in " ".join(last).lower() or "try again" in " ".join(last).lower()
    sent = [m for p in (PHONE, LOCKED, FROZEN, PAUSED) for m in codes_to(svc, p) if m.purpose == "step_up"]
    assert len(sent) == 3  # 3 an hour per conversation


def test_the_right_code_still_identifies_a_chatter(svc, accounts, bot):
    _visitor_says(bot, "v1", "my payment failed, why?")
    _visitor_says(bot, "v1", PHONE)
    code = codes_to(svc, PHONE)[-1].body.split("code is ")[-1][:6]
    _visitor_says(bot, "v1", "000000")  # one wrong guess first

    answer = _visitor_says(bot, "v1", code)

    # Identified: the flow reads the account's own payments (this one has none) instead of asking again.
    assert answer == ["You have no recent payments."]
