"""Registration, login with password or PIN, sessions, the failed-login lock and freezing.

Every rejected action is checked to leave the customer and the ledger exactly as they were.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gopaycare.identity.models import Customer, CustomerSession, Device
from gopaycare.identity.service import DeviceInfo
from gopaycare.platform import audit
from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from tests.conftest import PASSWORD, PIN, START, ledger_snapshot

LOGIN_FAILED = "phone/email or password is not correct (passwords are case-sensitive)"
WRONG_PIN = "147258"


# ---------------------------------------------------------------- helpers


def customer_row(svc: Any, customer_id: int) -> dict[str, Any]:
    """The stored customer row, every column, as it is in the database."""
    with svc.db.read() as s:
        return dict(s.execute(text("SELECT * FROM customers WHERE id = :id"), {"id": customer_id}).mappings().one())


def count(svc: Any, model: Any) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def audit_rows(svc: Any, customer_id: int, action: str | None = None) -> list[AuditEntry]:
    with svc.db.read() as s:
        rows = audit.history(s, "customer", customer_id)
    return [r for r in rows if action is None or r.action == action]


def phone_of(svc: Any, customer_id: int) -> str:
    return svc.identity.get(customer_id).phone


def fail_password(svc: Any, login: str, times: int) -> None:
    """`times` wrong passwords in a row, each refused as a wrong password (not as a lock)."""
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            svc.identity.login_with_password(login, "wrong-password")


def lock_by_pins(svc: Any, login: str) -> None:
    """Wrong PINs in a row while signed in (at payments): the hard lock of ADR 0003. Wrong passwords
    at login only pause logins (docs/adr/0018): a stranger cannot lock anyone."""
    customer_id = svc.identity.find_by_login(login).id
    for _ in range(svc.settings.max_failed_logins - 1):
        with pytest.raises(Unauthenticated):
            svc.identity.verify_pin(customer_id, WRONG_PIN)
    with pytest.raises(PermissionDenied):
        svc.identity.verify_pin(customer_id, WRONG_PIN)


def error_of(call: Any) -> tuple[type, str, str, dict[str, Any]]:
    """Everything a caller learns from a refused call."""
    with pytest.raises(Exception) as exc:
        call()
    return type(exc.value), exc.value.code, exc.value.message, exc.value.details


# ---------------------------------------------------------------- registration


@pytest.mark.parametrize("raw", ["0812-3456-7890", "0812 3456 7890", "081234567890", "+62 812-3456-7890",
                                 "62 812 3456 7890", "(0812) 3456-7890"])
def test_register_normalizes_the_phone_to_e164(svc, raw):
    # Given a phone number typed the way Indonesian customers write it
    # When they register
    view = svc.identity.register(phone=raw, name="Siti Rahma", password=PASSWORD, pin=PIN, language="id")

    # Then the number is stored in E.164, and logging in with the local form finds the account
    assert view.phone == "+6281234567890"
    assert customer_row(svc, view.id)["phone"] == "+6281234567890"
    assert svc.identity.login_with_password("0812-3456-7890", PASSWORD).customer_id == view.id


def test_register_stores_a_clean_customer_with_an_empty_wallet(svc):
    # When a customer registers with untidy input
    view = svc.identity.register(phone="0812-3456-7890", name="  Budi   Santoso ", email=" Budi@Example.COM ",
                                 id_number="3171012345678901", password=PASSWORD, pin=PIN, language="en",
                                 tier="plus")

    # Then the view has normalized values and a clean security state
    assert (view.name, view.email, view.language, view.id_last4) == ("Budi Santoso", "budi@example.com", "en", "8901")
    assert (view.locked, view.lock_reason, view.frozen, view.freeze_reason, view.failed_logins) == (
        False, None, False, None, 0)
    assert view.created_at == START
    # And the wallet is open, empty and unrestricted, in the asked tier
    summary = svc.wallet.summary(view.id)
    assert (summary.balance, summary.tier, summary.locked, summary.frozen) == (0, "plus", False, False)
    # And the registration is audited
    [registered] = audit_rows(svc, view.id)
    assert (registered.action, registered.actor_type, registered.actor_id) == (
        "customer.registered", "customer", str(view.id))
    assert registered.details == {"tier": "plus"}


def test_register_masks_personal_data_for_agents(svc):
    view = svc.identity.register(phone="0812-3456-7890", name="Budi", email="budi@example.com",
                                 id_number="3171012345678901", password=PASSWORD, pin=PIN)

    assert view.masked() == {
        "id": view.id, "name": "Budi", "phone": "0812****7890", "email": "b***i@example.com",
        "id_number": "****8901", "language": "zh-CN", "locked": False, "frozen": False, "failed_logins": 0,
    }


@pytest.mark.parametrize("phone", ["+6281234567890", "0812-3456-7890", "62 812 3456 7890"])
def test_register_with_a_taken_phone_is_a_conflict_and_stores_nothing(svc, make_customer, phone):
    # Given a customer with this phone
    first = make_customer(phone="+6281234567890")
    before = (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry))

    # When someone registers the same number in another form, with a new email
    with pytest.raises(Conflict) as exc:
        svc.identity.register(phone=phone, name="Someone Else", email="else@example.com", password=PASSWORD)

    # Then it is refused with a stable code, and no customer, wallet or audit row was added
    assert exc.value.code == "customer_exists"
    assert (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry)) == before
    assert svc.identity.get(first).name == "Customer 1"


def test_register_with_a_taken_email_in_another_case_is_a_conflict_and_stores_nothing(svc, make_customer):
    # Given a customer with the email customer1@example.com
    make_customer()
    before = (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry))

    # When another registration uses it in capitals
    with pytest.raises(Conflict) as exc:
        svc.identity.register(phone="0813-1111-2222", name="Other", email="Customer1@EXAMPLE.com",
                              password=PASSWORD)

    # Then it is refused and nothing was stored
    assert exc.value.code == "customer_exists"
    assert (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry)) == before
    with pytest.raises(Unauthenticated):
        svc.identity.login_with_password("0813-1111-2222", PASSWORD)


@pytest.mark.parametrize("id_number", ["317101234567890", "31710123456789012", "3171O12345678901", ""])
def test_register_with_a_bad_nik_is_refused_and_stores_nothing(svc, id_number):
    # Given an empty system
    before = (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry))

    # When the ID number (NIK) does not have 16 digits
    with pytest.raises(ValidationFailed) as exc:
        svc.identity.register(phone="0812-3456-7890", name="Budi", id_number=id_number, password=PASSWORD)

    # Then registration is refused, naming the field, and nothing was stored
    assert (exc.value.code, exc.value.details) == ("validation_failed", {"field": "id_number"})
    assert (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry)) == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"phone": "not a phone"}, "phone"),
    ({"name": "   "}, "name"),
    ({"email": "budi-at-example.com"}, "email"),
    ({"language": "fr"}, "language"),
    ({"password": "short"}, "password"),
    ({"pin": "123456"}, "pin"),
    ({"pin": "12345"}, "pin"),
])
def test_register_with_invalid_details_is_refused_and_stores_nothing(svc, kwargs, field):
    details = {"phone": "0812-3456-7890", "name": "Budi", "email": "budi@example.com", "password": PASSWORD,
               "pin": PIN, "language": "en", **kwargs}
    before = (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry))

    with pytest.raises(ValidationFailed) as exc:
        svc.identity.register(**details)

    assert exc.value.details["field"] == field
    assert (count(svc, Customer), ledger_snapshot(svc), count(svc, AuditEntry)) == before


def test_id_number_is_stored_hashed_with_only_the_last_four_digits(svc):
    # When a customer registers with a NIK written with separators
    nik = "3171012345678901"
    view = svc.identity.register(phone="0812-3456-7890", name="Budi", id_number="3171-0123-4567-8901",
                                 password=PASSWORD, pin=PIN)

    # Then only a keyed hash and the last 4 digits are stored
    row = customer_row(svc, view.id)
    assert row["id_last4"] == "8901"
    assert row["id_number_hash"] == svc.identity.hasher.keyed(nik)
    assert len(row["id_number_hash"]) == 64
    # And no stored column of the customer or its audit rows holds the number, the password or the PIN
    stored = [str(v) for v in row.values()] + [str(e.details) for e in audit_rows(svc, view.id)]
    for secret in (nik, "3171-0123-4567-8901", PASSWORD):
        assert not any(secret in value for value in stored)
    assert row["pin_hash"] != PIN and row["pin_hash"].startswith("$argon2")
    assert row["password_hash"].startswith("$argon2")


# ---------------------------------------------------------------- login and sessions


def test_password_login_opens_a_session_that_authenticates(svc, make_customer):
    # Given a registered customer
    customer = make_customer()

    # When they log in with their password
    result = svc.identity.login_with_password("+6281000000001", PASSWORD)

    # Then the token authenticates them for the session lifetime (an hour; a refresh token renews it)
    assert result.customer_id == customer
    assert result.expires_at == START + timedelta(seconds=svc.settings.session_ttl_seconds)
    assert result.expires_at == START + timedelta(hours=1)
    assert result.refresh_expires_at == START + timedelta(days=30)
    assert svc.identity.authenticate(result.token) == customer
    # And only a keyed hash of the token is stored
    with svc.db.read() as s:
        session_row = s.execute(select(CustomerSession)).scalar_one()
    assert session_row.token_hash == svc.identity.hasher.keyed(result.token)
    assert (session_row.customer_id, session_row.device_id, session_row.revoked_at) == (customer, None, None)
    # And the login is audited
    [succeeded] = audit_rows(svc, customer, "login.succeeded")
    assert (succeeded.actor_type, succeeded.actor_id, succeeded.details) == (
        "customer", str(customer), {"device": None})


def test_pin_login_by_email_in_any_case_opens_a_session(svc, make_customer):
    customer = make_customer()

    result = svc.identity.login_with_pin("  CUSTOMER1@example.com ", PIN)

    assert result.customer_id == customer
    assert svc.identity.authenticate(result.token) == customer
    assert customer_row(svc, customer)["failed_logins"] == 0


def test_login_records_the_device_and_updates_it_on_the_next_login(svc, make_customer, clock):
    # Given a customer logging in from an Android phone
    customer = make_customer()
    first = svc.identity.login_with_password(
        "+6281000000001", PASSWORD, DeviceInfo("dev-a", "android", "14", "5.2.0"))

    [device] = svc.identity.devices(customer)
    assert (device.device_key, device.platform, device.os_version, device.app_version) == (
        "dev-a", "android", "14", "5.2.0")
    assert (device.first_seen, device.last_seen) == (START, START)

    # When they log in again from the same phone after an app update, and later from an iPhone
    clock.advance(hours=2)
    second = svc.identity.login_with_pin("+6281000000001", PIN, DeviceInfo("dev-a", "android", "14", "5.3.0"))
    clock.advance(hours=1)
    svc.identity.login_with_password("+6281000000001", PASSWORD, DeviceInfo("dev-b", "ios", "18.1", "5.3.0"))

    # Then the Android phone is the same device row, updated; the iPhone is a second device
    android, iphone = svc.identity.devices(customer)
    assert (android.id, android.app_version, android.first_seen, android.last_seen) == (
        device.id, "5.3.0", START, START + timedelta(hours=2))
    assert (iphone.device_key, iphone.platform, iphone.os_version) == ("dev-b", "ios", "18.1")
    assert iphone.first_seen == iphone.last_seen == START + timedelta(hours=3)
    # And each session points at its device; the audit names the device key
    with svc.db.read() as s:
        sessions = s.execute(select(CustomerSession.token_hash, CustomerSession.device_id)
                             .order_by(CustomerSession.id)).all()
    keyed = svc.identity.hasher.keyed
    assert sessions[:2] == [(keyed(first.token), device.id), (keyed(second.token), device.id)]
    assert sessions[2].device_id == iphone.id
    assert [e.details["device"] for e in audit_rows(svc, customer, "login.succeeded")] == ["dev-a", "dev-a", "dev-b"]


def test_devices_of_one_customer_are_not_shown_to_another(svc, make_customer):
    first, second = make_customer(), make_customer()
    svc.identity.login_with_password("+6281000000001", PASSWORD, DeviceInfo("shared-key"))
    svc.identity.login_with_password("+6281000000002", PASSWORD, DeviceInfo("shared-key"))

    assert [d.customer_id for d in svc.identity.devices(first)] == [first]
    assert [d.customer_id for d in svc.identity.devices(second)] == [second]
    assert count(svc, Device) == 2


def test_logout_revokes_only_that_session(svc, make_customer, clock):
    # Given a customer logged in on two devices
    customer = make_customer()
    phone = svc.identity.login_with_password("+6281000000001", PASSWORD, DeviceInfo("phone"))
    tablet = svc.identity.login_with_password("+6281000000001", PASSWORD, DeviceInfo("tablet"))

    # When they log out on the phone
    clock.advance(minutes=5)
    svc.identity.logout(phone.token)

    # Then the phone's token is refused, the tablet's still works
    with pytest.raises(Unauthenticated) as exc:
        svc.identity.authenticate(phone.token)
    assert exc.value.code == "session_invalid"
    assert svc.identity.authenticate(tablet.token) == customer
    with svc.db.read() as s:
        revoked = s.execute(select(CustomerSession.revoked_at).where(
            CustomerSession.token_hash == svc.identity.hasher.keyed(phone.token))).scalar_one()
    assert revoked == START + timedelta(minutes=5)

    # And logging out again, or with an unknown token, is harmless and changes nothing
    clock.advance(minutes=5)
    svc.identity.logout(phone.token)
    svc.identity.logout("no-such-token")
    with svc.db.read() as s:
        assert s.execute(select(CustomerSession.revoked_at).where(
            CustomerSession.token_hash == svc.identity.hasher.keyed(phone.token))).scalar_one() == revoked


def test_expired_session_is_refused(svc, make_customer, clock):
    # Given a session opened now
    customer = make_customer()
    result = svc.identity.login_with_password("+6281000000001", PASSWORD)

    # When one second of its lifetime is left it still works
    clock.advance(seconds=svc.settings.session_ttl_seconds - 1)
    assert svc.identity.authenticate(result.token) == customer

    # Then at its expiry instant it is refused
    clock.advance(seconds=1)
    assert clock.now() == result.expires_at
    with pytest.raises(Unauthenticated) as exc:
        svc.identity.authenticate(result.token)
    assert exc.value.code == "session_invalid"


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
def test_unknown_token_is_refused(svc, make_customer, token):
    make_customer()
    svc.identity.login_with_password("+6281000000001", PASSWORD)

    with pytest.raises(Unauthenticated) as exc:
        svc.identity.authenticate(token)
    assert exc.value.code == "session_invalid"


# ---------------------------------------------------------------- wrong passwords and the lock


def test_wrong_password_is_counted_and_says_passwords_are_case_sensitive(svc, make_customer):
    # Given a customer whose password is Secret-pass1
    customer = make_customer()
    before = customer_row(svc, customer)

    # When they type it in lower case
    with pytest.raises(Unauthenticated) as exc:
        svc.identity.login_with_password("+6281000000001", PASSWORD.lower())

    # Then it is refused with a message that passwords are case-sensitive
    assert exc.value.code == "login_failed"
    assert exc.value.message == LOGIN_FAILED
    assert "case-sensitive" in str(exc.value)
    # And the failure is counted and audited (committed although the call raised), no session opened
    after = customer_row(svc, customer)
    assert after["login_failures"] == 1
    assert {k: v for k, v in after.items() if k not in ("login_failures", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("login_failures", "updated_at")}
    [failed] = audit_rows(svc, customer, "login.password_failed")
    assert (failed.actor_type, failed.details) == ("system", {"login_failures": 1, "paused": False})
    assert count(svc, CustomerSession) == 0


def test_a_correct_login_resets_the_failure_counter(svc, make_customer):
    # Given 4 wrong passwords in a row (one short of the pause)
    customer = make_customer()
    fail_password(svc, "+6281000000001", 4)
    assert customer_row(svc, customer)["login_failures"] == 4

    # When the right password is given
    svc.identity.login_with_password("+6281000000001", PASSWORD)

    # Then the counter starts again: 4 more wrong passwords still do not pause
    assert customer_row(svc, customer)["login_failures"] == 0
    fail_password(svc, "+6281000000001", 4)
    assert customer_row(svc, customer)["login_failures"] == 4
    assert svc.identity.get(customer).login_paused_until is None
    assert svc.identity.get(customer).locked is False
    assert svc.wallet.summary(customer).locked is False


def test_five_wrong_passwords_in_a_row_pause_logins_and_lock_nothing(svc, make_customer):
    """Anyone can type wrong passwords for any number: they pause password logins (a soft lock the
    owner lifts with a reset code or by waiting) and never lock the account (docs/adr/0018)."""
    # Given a customer with money, and the configured limit of 5
    customer = make_customer(balance=100_000)
    assert svc.settings.max_failed_logins == 5

    # When 5 wrong passwords are each refused with a plain login failure (the 5th too: saying
    # "now paused" would tell a stranger the account exists)
    fail_password(svc, "+6281000000001", 5)

    # Then logins are paused, and neither the customer nor the wallet is locked
    view = svc.identity.get(customer)
    assert (view.locked, view.lock_reason, view.failed_logins, view.login_failures) == (False, None, 0, 0)
    assert view.login_paused_until == START + timedelta(seconds=svc.settings.login_pause_seconds)
    summary = svc.wallet.summary(customer)
    assert (summary.locked, summary.frozen, summary.balance) == (False, False, 100_000)
    # And the audit has 5 failures then the pause by the system
    actions = [e.action for e in audit_rows(svc, customer)]
    assert actions[-6:] == ["login.password_failed"] * 5 + ["login.paused"]


def test_locked_account_refuses_even_the_right_password_and_pin(svc, make_customer):
    # Given a locked account
    customer = make_customer(balance=50_000)
    lock_by_pins(svc, "+6281000000001")
    before = (customer_row(svc, customer), ledger_snapshot(svc), count(svc, CustomerSession))

    # When the right password or PIN is given
    for login in (lambda: svc.identity.login_with_password("+6281000000001", PASSWORD),
                  lambda: svc.identity.login_with_pin("+6281000000001", PIN)):
        with pytest.raises(PermissionDenied) as exc:
            login()

        # Then it is refused as locked, saying when it was locked
        assert exc.value.code == "account_locked"
        assert exc.value.details == {"locked_at": START.isoformat()}

    # And nothing changed: no session, the counter stays at 5
    assert (customer_row(svc, customer), ledger_snapshot(svc), count(svc, CustomerSession)) == before


def test_wrong_password_on_a_locked_account_answers_like_any_wrong_password(svc, make_customer):
    """The password is checked first: a locked account says so only to someone who knows it."""
    customer = make_customer()
    lock_by_pins(svc, "+6281000000001")
    unknown = error_of(lambda: svc.identity.login_with_password("+6281999999999", "wrong-password"))

    locked = error_of(lambda: svc.identity.login_with_password("+6281000000001", "wrong-password"))

    assert locked == unknown and locked[1] == "login_failed"
    assert svc.identity.get(customer).locked


def test_payment_from_a_locked_account_is_recorded_as_failed_and_moves_no_money(svc, make_customer,
                                                                               make_merchant):
    # Given a locked account with Rp 200.000
    customer = make_customer(balance=200_000)
    merchant = make_merchant()
    lock_by_pins(svc, "+6281000000001")
    before = ledger_snapshot(svc)

    # When it pays a merchant with the right PIN
    txn = svc.payments.pay(customer, merchant, 25_000, PIN, "pay-locked-1")

    # Then the payment is recorded as failed because the account is locked
    assert (txn.kind, txn.status, txn.failure_reason, txn.amount) == ("payment", "failed", "ACCOUNT_LOCKED", 25_000)
    assert txn.merchant_id == merchant
    # And no money moved: balances and transfers are unchanged; only the failed row was added
    after = ledger_snapshot(svc)
    assert after["accounts"] == before["accounts"]
    assert after["transfers"] == before["transfers"]
    assert len(after["transactions"]) == len(before["transactions"]) + 1
    assert after["transactions"][-1][1:] == ("failed", 0)
    assert svc.wallet.summary(customer).balance == 200_000
    # And the PIN was not counted: the account stays locked at 5
    assert customer_row(svc, customer)["failed_logins"] == 5


def test_wrong_pin_at_checkout_is_recorded_as_pin_invalid_and_counted(svc, make_customer, make_merchant):
    # Given a customer with Rp 200.000
    customer = make_customer(balance=200_000)
    merchant = make_merchant()
    before = ledger_snapshot(svc)

    # When they pay with a wrong PIN
    txn = svc.payments.pay(customer, merchant, 25_000, WRONG_PIN, "pay-wrong-pin-1")

    # Then the payment is a failed one with reason PIN_INVALID and the attempts left
    assert (txn.status, txn.failure_reason, txn.failure_details) == ("failed", "PIN_INVALID", {"attempts_left": 4})
    # And no money moved
    after = ledger_snapshot(svc)
    assert (after["accounts"], after["transfers"]) == (before["accounts"], before["transfers"])
    assert svc.wallet.summary(customer).balance == 200_000
    # And the wrong PIN counts toward the lock, like a wrong password
    assert customer_row(svc, customer)["failed_logins"] == 1
    [failed] = audit_rows(svc, customer, "login.pin_failed")
    assert failed.details == {"failed_logins": 1}


def test_wrong_pins_at_checkout_lock_the_account_and_wrong_passwords_do_not_help(svc, make_customer,
                                                                                 make_merchant):
    # Given 3 wrong passwords (a stranger's, maybe): they do not count toward the lock
    customer = make_customer(balance=200_000)
    merchant = make_merchant()
    fail_password(svc, "+6281000000001", 3)
    before = ledger_snapshot(svc)

    # When 5 payments are made with a wrong PIN
    wrong = [svc.payments.pay(customer, merchant, 10_000, WRONG_PIN, f"pay-wrong-{n}") for n in range(5)]

    # Then the first leaves 4 attempts, the 4th one, the 5th locks the account
    assert (wrong[0].status, wrong[0].failure_reason, wrong[0].failure_details) == (
        "failed", "PIN_INVALID", {"attempts_left": 4})
    assert wrong[3].failure_details == {"attempts_left": 1}
    # The attempt that locks was itself a wrong PIN
    assert (wrong[4].status, wrong[4].failure_reason) == ("failed", "PIN_INVALID")
    assert wrong[4].failure_details == {"attempts_left": 0, "account_locked": True}
    view = svc.identity.get(customer)
    assert (view.locked, view.lock_reason, view.failed_logins) == (True, "too_many_failed_logins", 5)
    assert svc.wallet.summary(customer).locked is True
    # And even the right PIN now pays nothing
    right = svc.payments.pay(customer, merchant, 10_000, PIN, "pay-right-after-lock")
    assert (right.status, right.failure_reason) == ("failed", "ACCOUNT_LOCKED")
    # And no money moved: only the wallet's lock flag changed
    after = ledger_snapshot(svc)
    assert after["transfers"] == before["transfers"]
    assert [(a.id, a.balance) for a in after["accounts"]] == [(a.id, a.balance) for a in before["accounts"]]
    assert svc.wallet.summary(customer).balance == 200_000


def test_right_pin_at_checkout_pays_and_resets_the_counter(svc, make_customer, make_merchant):
    customer = make_customer(balance=200_000)
    merchant = make_merchant()
    fail_password(svc, "+6281000000001", 2)

    txn = svc.payments.pay(customer, merchant, 25_000, PIN, "pay-ok-1")

    assert (txn.status, txn.failure_reason, txn.amount) == ("succeeded", None, 25_000)
    assert svc.wallet.summary(customer).balance == 175_000
    assert customer_row(svc, customer)["failed_logins"] == 0


@pytest.mark.parametrize("login", ["+6281999999999", "0819-9999-9999", "nobody@example.com", "not-a-phone", ""])
def test_unknown_login_gives_the_same_error_as_a_wrong_password(svc, make_customer, login):
    # Given a registered customer
    make_customer()
    audit_before = count(svc, AuditEntry)

    # When an unknown (or malformed) login is tried, and a wrong password for a real one
    unknown = error_of(lambda: svc.identity.login_with_password(login, "wrong-password"))
    wrong = error_of(lambda: svc.identity.login_with_password("+6281000000001", "wrong-password"))

    # Then the caller cannot tell them apart: same class, code, message and details
    assert unknown == wrong
    assert unknown[:3] == (Unauthenticated, "login_failed", LOGIN_FAILED)
    # And the unknown login wrote nothing (only the real account's failure was audited)
    assert count(svc, AuditEntry) == audit_before + 1


@pytest.mark.parametrize("login", ["+6281999999999", "nobody@example.com"])
def test_unknown_login_with_a_pin_gives_the_same_error_as_a_wrong_pin(svc, make_customer, login):
    make_customer()

    unknown = error_of(lambda: svc.identity.login_with_pin(login, WRONG_PIN))
    wrong = error_of(lambda: svc.identity.login_with_pin("+6281000000001", WRONG_PIN))

    assert unknown == wrong
    assert unknown[:3] == (Unauthenticated, "login_failed", LOGIN_FAILED)


# ---------------------------------------------------------------- freeze


def test_freeze_blocks_outgoing_money_at_once(svc, make_customer, make_merchant):
    # Given a customer with Rp 300.000
    customer = make_customer(balance=300_000)
    merchant = make_merchant()

    # When an agent freezes the account
    view = svc.identity.freeze(customer, actor=Actor.agent(7), reason="customer reports a stolen phone")

    # Then the customer and the wallet are frozen
    assert (view.frozen, view.freeze_reason, view.locked) == (True, "customer reports a stolen phone", False)
    assert customer_row(svc, customer)["frozen_at"] is not None
    assert svc.wallet.summary(customer).frozen is True
    [frozen] = audit_rows(svc, customer, "account.frozen")
    assert (frozen.actor_type, frozen.actor_id, frozen.reason) == ("agent", "7", "customer reports a stolen phone")

    # And a payment with the right PIN is recorded as failed, with no money moved
    before = ledger_snapshot(svc)
    txn = svc.payments.pay(customer, merchant, 50_000, PIN, "pay-frozen-1")
    assert (txn.status, txn.failure_reason) == ("failed", "ACCOUNT_FROZEN")
    after = ledger_snapshot(svc)
    assert (after["accounts"], after["transfers"]) == (before["accounts"], before["transfers"])
    assert svc.wallet.summary(customer).balance == 300_000


def test_frozen_account_still_receives_a_topup(svc, make_customer):
    # Given a frozen account with Rp 300.000
    customer = make_customer(balance=300_000)
    svc.identity.freeze(customer, actor=Actor.customer(customer), reason="lost my phone")

    # When money is topped up
    txn = svc.wallet.topup(customer, 40_000, "bank_transfer", "topup-while-frozen")

    # Then it arrives: incoming money is not blocked
    assert (txn.status, txn.amount) == ("succeeded", 40_000)
    summary = svc.wallet.summary(customer)
    assert (summary.balance, summary.frozen) == (340_000, True)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_freeze_needs_a_reason_and_changes_nothing_without_one(svc, make_customer, reason):
    customer = make_customer(balance=10_000)
    before = (customer_row(svc, customer), ledger_snapshot(svc), count(svc, AuditEntry))

    with pytest.raises(ValidationFailed) as exc:
        svc.identity.freeze(customer, actor=Actor.agent(7), reason=reason)

    assert exc.value.details == {"field": "reason"}
    assert (customer_row(svc, customer), ledger_snapshot(svc), count(svc, AuditEntry)) == before
    assert svc.wallet.summary(customer).frozen is False


def test_freezing_twice_keeps_the_first_freeze(svc, make_customer, clock):
    customer = make_customer()
    svc.identity.freeze(customer, actor=Actor.agent(7), reason="first report")
    first = customer_row(svc, customer)

    clock.advance(minutes=10)
    view = svc.identity.freeze(customer, actor=Actor.agent(8), reason="second report")

    assert (view.frozen, view.freeze_reason) == (True, "first report")
    assert customer_row(svc, customer) == first
    assert len(audit_rows(svc, customer, "account.frozen")) == 1


def test_freezing_an_unknown_customer_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.identity.freeze(424242, actor=Actor.agent(7), reason="fraud report")
    assert count(svc, AuditEntry) == 0


# ---------------------------------------------------------------- checkout retries and session revocation


def test_checkout_retry_with_the_same_key_returns_the_first_result_without_the_pin(svc, make_customer,
                                                                                  make_merchant):
    from tests.conftest import PIN

    customer = make_customer(balance=100_000)
    merchant = make_merchant()
    paid = svc.payments.pay(customer, merchant, 30_000, PIN, "chk-1")

    # A replay with a wrong PIN returns the original payment and counts no failure
    again = svc.payments.pay(customer, merchant, 30_000, "000000", "chk-1")

    assert again == paid
    assert svc.identity.get(customer).failed_logins == 0
    assert svc.wallet.summary(customer).balance == 70_000


def test_checkout_retry_after_a_wrong_pin_returns_the_decline(svc, make_customer, make_merchant):
    from tests.conftest import PIN

    customer = make_customer(balance=100_000)
    merchant = make_merchant()
    declined = svc.payments.pay(customer, merchant, 30_000, "000000", "chk-2")

    retried = svc.payments.pay(customer, merchant, 30_000, PIN, "chk-2")

    assert retried == declined and retried.failure_reason == "PIN_INVALID"
    assert svc.wallet.summary(customer).balance == 100_000


def test_the_pin_attempt_that_locks_is_recorded_as_a_wrong_pin(svc, make_customer, make_merchant):
    customer = make_customer(balance=100_000)
    merchant = make_merchant()
    results = [svc.payments.pay(customer, merchant, 1_000, "000000", f"lock-{i}") for i in range(6)]

    assert [r.failure_reason for r in results] == ["PIN_INVALID"] * 5 + ["ACCOUNT_LOCKED"]
    assert results[4].failure_details == {"attempts_left": 0, "account_locked": True}


def test_lock_and_password_reset_end_open_sessions(svc, make_customer):
    import re

    from gopaycare.platform.errors import Unauthenticated
    from tests.conftest import PASSWORD

    customer = make_customer()
    phone = svc.identity.get(customer).phone
    first = svc.identity.login_with_password(phone, PASSWORD)
    svc.recovery.start_reset(phone, "password")
    code = re.search(r"\b(\d{6})\b", svc.outbox.messages_to(phone)[-1].body).group(1)

    svc.recovery.reset(phone, "password", code, "Brand-new-pass9")

    with pytest.raises(Unauthenticated):
        svc.identity.authenticate(first.token)
    second = svc.identity.login_with_password(phone, "Brand-new-pass9")
    from gopaycare.platform.errors import PermissionDenied

    for _ in range(svc.settings.max_failed_logins):
        with pytest.raises((Unauthenticated, PermissionDenied)):
            svc.identity.verify_pin(customer, "000000")
    with pytest.raises(Unauthenticated):  # the lock (wrong PINs while signed in) ends the session
        svc.identity.authenticate(second.token)
