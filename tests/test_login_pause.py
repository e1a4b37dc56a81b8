"""A stranger cannot lock anyone out: wrong passwords at login only pause password logins for a
while (a soft lock), the owner is told, and a reset code or the end of the pause lets them in.
The hard lock stays where the wallet's rules need it (ADR 0003): wrong PINs typed while signed in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gopaycare.platform.audit import AuditEntry
from gopaycare.platform.errors import PermissionDenied, Unauthenticated

from .conftest import PASSWORD, PIN
from .helpers import codes_to

PHONE = "+6281234560001"


def _wrong(svc, times: int, login: str = PHONE) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated) as failed:
            svc.identity.login_with_password(login, "Wrong-pass1")
        assert failed.value.code == "login_failed"  # never "now locked": that would tell the account exists


def _notices(svc) -> list:
    return [m for m in svc.outbox.messages_to(PHONE) if m.purpose == "security_notice"]


def test_a_strangers_wrong_passwords_pause_logins_but_lock_nothing(svc, make_customer, make_merchant):
    customer = make_customer(phone=PHONE, balance=100_000, language="en")
    session = svc.identity.login_with_password(PHONE, PASSWORD)

    _wrong(svc, 50)  # far more than the old lock's five

    view = svc.identity.get(customer)
    assert not view.locked and view.login_paused_until is not None
    assert svc.wallet.summary(customer).locked is False
    assert svc.identity.authenticate(session.token) == customer  # the owner's session is not ended
    paid = svc.payments.pay(customer, make_merchant(), 10_000, PIN, "after-the-attack")
    assert paid.status == "succeeded"  # and their money still moves


def test_the_owner_is_told_once_per_pause(svc, make_customer):
    make_customer(phone=PHONE, language="en")
    _wrong(svc, svc.settings.max_failed_logins + 7)

    notices = _notices(svc)
    assert len(notices) == 1
    assert "wrong password" in notices[0].body and str(svc.settings.max_failed_logins) in notices[0].body
    with svc.db.read() as s:
        paused = s.execute(select(AuditEntry).where(AuditEntry.action == "login.paused")).scalars().all()
    assert len(paused) == 1


def test_the_right_password_during_the_pause_says_so_and_after_it_logs_in(svc, make_customer, clock):
    make_customer(phone=PHONE)
    _wrong(svc, svc.settings.max_failed_logins)

    with pytest.raises(PermissionDenied) as paused:
        svc.identity.login_with_password(PHONE, PASSWORD)
    assert paused.value.code == "login_paused"
    assert 0 < paused.value.details["retry_after_seconds"] <= svc.settings.login_pause_seconds

    clock.advance(seconds=svc.settings.login_pause_seconds)
    assert svc.identity.login_with_password(PHONE, PASSWORD).customer_id
    assert svc.identity.get(svc.identity.find_by_login(PHONE).id).login_paused_until is None


def test_a_reset_code_lifts_the_pause_at_once(svc, make_customer):
    make_customer(phone=PHONE)
    _wrong(svc, svc.settings.max_failed_logins)
    svc.recovery.start_reset(PHONE, "password")
    code = codes_to(svc, PHONE)[-1].body.split("code is ")[-1][:6]

    svc.recovery.reset(PHONE, "password", code, "Another-pass1")

    assert svc.identity.login_with_password(PHONE, "Another-pass1").customer_id


def test_the_pause_comes_back_after_more_wrong_passwords(svc, make_customer, clock):
    make_customer(phone=PHONE)
    _wrong(svc, svc.settings.max_failed_logins)
    clock.advance(seconds=svc.settings.login_pause_seconds + 1)
    _wrong(svc, svc.settings.max_failed_logins - 1)
    assert svc.identity.login_with_password(PHONE, PASSWORD).customer_id  # four wrong: not paused yet

    _wrong(svc, svc.settings.max_failed_logins)
    with pytest.raises(PermissionDenied):
        svc.identity.login_with_password(PHONE, PASSWORD)
    assert len(_notices(svc)) == 2


def test_wrong_pins_while_signed_in_still_lock_hard(svc, make_customer):
    """ADR 0003: the wallet's rule. Only someone signed in (the owner, or whoever holds their
    unlocked phone) can type a PIN at a payment, so a stranger cannot use it to lock anyone."""
    customer = make_customer(phone=PHONE)
    for _ in range(svc.settings.max_failed_logins - 1):
        with pytest.raises(Unauthenticated):
            svc.identity.verify_pin(customer, "000000")
    with pytest.raises(PermissionDenied) as locked:
        svc.identity.verify_pin(customer, "000000")

    assert locked.value.code == "account_locked"
    assert svc.identity.get(customer).locked
    assert svc.wallet.summary(customer).locked


def test_a_strangers_wrong_passwords_do_not_count_toward_the_hard_lock(svc, make_customer):
    customer = make_customer(phone=PHONE)
    _wrong(svc, svc.settings.max_failed_logins - 1)
    with pytest.raises(Unauthenticated):  # one wrong PIN by the owner: far from the lock
        svc.identity.verify_pin(customer, "000000")
    assert not svc.identity.get(customer).locked
    assert svc.identity.get(customer).failed_logins == 1
