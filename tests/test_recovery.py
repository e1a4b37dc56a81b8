"""Getting back into an account: resets with a code, unlock and unfreeze by knowledge, documents
reviewed by an agent, and phone/email changes confirmed by codes to the old and new address."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gopaycare.identity.models import ContactChange, Customer, OneTimeCode, VerificationRequest
from gopaycare.identity.recovery import KnowledgeAnswers
from gopaycare.platform import audit
from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from tests.conftest import PASSWORD, PIN, START, ledger_snapshot

PHONE = "+6281000000001"  # the first customer made by make_customer
EMAIL = "customer1@example.com"
NEW_PASSWORD = "Fresh-pass22"
NEW_PIN = "369258"
CODE = re.compile(r"\b(\d{6})\b")


# ---------------------------------------------------------------- helpers


def columns_of(model: Any, row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns}


def customer_row(svc: Any, customer_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        return columns_of(Customer, s.get(Customer, customer_id))


def rows(svc: Any, model: Any) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [columns_of(model, r) for r in s.scalars(select(model).order_by(model.id))]


def audit_rows(svc: Any, customer_id: int, action: str | None = None) -> list[AuditEntry]:
    with svc.db.read() as s:
        entries = audit.history(s, "customer", customer_id)
    return [e for e in entries if action is None or e.action == action]


def audit_count(svc: Any) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def last_code(svc: Any, destination: str = PHONE) -> str:
    return CODE.search(svc.outbox.messages_to(destination)[-1].body).group(1)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def everything(svc: Any, customer_id: int) -> tuple[Any, ...]:
    """All that a refused recovery step must leave as it was."""
    return (customer_row(svc, customer_id), ledger_snapshot(svc), rows(svc, ContactChange),
            rows(svc, VerificationRequest))


def lock(svc: Any, login: str = PHONE, *, already_failed: int = 0) -> None:
    """Wrong PINs while signed in until the account locks (after `already_failed` earlier failures).
    Wrong passwords at login only pause logins: a stranger cannot lock anyone (docs/adr/0018)."""
    customer_id = svc.identity.find_by_login(login).id
    for _ in range(svc.settings.max_failed_logins - 1 - already_failed):
        with pytest.raises(Unauthenticated):
            svc.identity.verify_pin(customer_id, "000000")
    with pytest.raises(PermissionDenied):
        svc.identity.verify_pin(customer_id, "000000")


def logs_in(svc: Any, login: str, password: str = PASSWORD) -> bool:
    try:
        svc.identity.login_with_password(login, password)
    except Unauthenticated:
        return False
    return True


@pytest.fixture
def locked_customer(svc, make_customer):
    """A customer with a Rp 150.000 top-up (their recent transaction), locked by wrong PINs."""
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    lock(svc)
    return customer


RIGHT = KnowledgeAnswers(name="Dewi Lestari", id_last4="8901", recent_amount=150_000)


# ---------------------------------------------------------------- password and PIN reset


def test_password_reset_with_a_code(svc, make_customer, clock):
    # Given a customer who forgot their password asks for a reset code (typing the local phone form)
    customer = make_customer()
    sent = svc.recovery.start_reset("0810-0000-0001", "password")
    assert (sent.channel, sent.destination_masked) == ("sms", "0810****0001")
    [message] = svc.outbox.messages_to(PHONE)
    assert message.purpose == "password_reset"

    # When they set a new password with the code
    clock.advance(minutes=2)
    svc.recovery.reset("0810-0000-0001", "password", last_code(svc), NEW_PASSWORD)

    # Then the old password stops working and the new one works
    assert logs_in(svc, PHONE, PASSWORD) is False
    assert logs_in(svc, PHONE, NEW_PASSWORD) is True
    # And the reset is audited as done by the customer with a code
    [reset] = audit_rows(svc, customer, "password.reset")
    assert (reset.actor_type, reset.actor_id, reset.details) == ("customer", str(customer), {"via": "code",
                                                                                       "sessions_revoked": 0})
    assert reset.at == START + timedelta(minutes=2)


def test_password_reset_clears_the_failure_counter(svc, make_customer):
    customer = make_customer()
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            svc.identity.login_with_password(PHONE, "wrong-password")
    svc.recovery.start_reset(PHONE, "password")

    svc.recovery.reset(PHONE, "password", last_code(svc), NEW_PASSWORD)

    assert svc.identity.get(customer).failed_logins == 0
    assert svc.identity.get(customer).login_failures == 0


def test_password_reset_leaves_a_locked_account_locked(svc, locked_customer):
    # Given a locked account
    svc.recovery.start_reset(PHONE, "password")

    # When the password is reset with a code
    svc.recovery.reset(PHONE, "password", last_code(svc), NEW_PASSWORD)

    # Then the counter is reset but the lock stays: a phone alone does not prove identity
    view = svc.identity.get(locked_customer)
    assert (view.locked, view.lock_reason, view.failed_logins) == (True, "too_many_failed_logins", 0)
    assert svc.wallet.summary(locked_customer).locked is True
    with pytest.raises(PermissionDenied) as exc:
        svc.identity.login_with_password(PHONE, NEW_PASSWORD)
    assert exc.value.code == "account_locked"


def test_pin_reset_by_email(svc, make_customer, make_merchant):
    # Given a customer asking for a PIN reset code by email (logging in by email)
    customer = make_customer(balance=100_000)
    merchant = make_merchant()
    sent = svc.recovery.start_reset("Customer1@Example.com", "pin", "email")
    assert (sent.channel, sent.destination_masked) == ("email", "c***1@example.com")

    # When they set a new PIN with the code from the email
    svc.recovery.reset("customer1@example.com", "pin", last_code(svc, EMAIL), NEW_PIN)

    # Then the new PIN pays and logs in; the old PIN is refused
    with pytest.raises(Unauthenticated):
        svc.identity.login_with_pin(PHONE, PIN)
    assert svc.identity.login_with_pin(PHONE, NEW_PIN).customer_id == customer
    paid = svc.payments.pay(customer, merchant, 10_000, NEW_PIN, "pay-new-pin")
    assert (paid.status, svc.wallet.summary(customer).balance) == ("succeeded", 90_000)
    assert [e.details for e in audit_rows(svc, customer, "pin.reset")] == [{"via": "code", "sessions_revoked": 0}]
    # And the password was not touched
    assert logs_in(svc, PHONE, PASSWORD) is True


def test_reset_with_a_wrong_code_changes_nothing_but_counts_the_guess(svc, make_customer):
    # Given a reset code
    customer = make_customer()
    svc.recovery.start_reset(PHONE, "password")
    code = last_code(svc)
    before = customer_row(svc, customer)

    # When a wrong code is given
    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.reset(PHONE, "password", other_than(code), NEW_PASSWORD)

    # Then nothing changed: the old password still works; only the guess was counted (and the answer
    # says no more than an unknown login's: no attempts left, docs/adr/0018)
    assert (exc.value.code, exc.value.details) == ("code_invalid", {"field": "code"})
    assert customer_row(svc, customer) == before
    assert rows(svc, OneTimeCode)[0]["attempts"] == 1
    assert audit_rows(svc, customer, "password.reset") == []
    # And the right code still works afterwards
    svc.recovery.reset(PHONE, "password", code, NEW_PASSWORD)
    assert logs_in(svc, PHONE, NEW_PASSWORD) is True


def test_reset_code_for_a_pin_does_not_reset_the_password(svc, make_customer):
    customer = make_customer()
    svc.recovery.start_reset(PHONE, "pin")
    before = customer_row(svc, customer)

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.reset(PHONE, "password", last_code(svc), NEW_PASSWORD)

    assert exc.value.code == "code_invalid"  # the same answer as any failure: no account state told
    assert customer_row(svc, customer) == before


@pytest.mark.parametrize(("what", "secret", "field"), [
    ("password", "short", "password"),
    ("pin", "111111", "pin"),
    ("pin", "12ab56", "pin"),
])
def test_reset_to_an_invalid_secret_is_refused_and_keeps_the_code(svc, make_customer, what, secret, field):
    # Given a reset code
    customer = make_customer()
    svc.recovery.start_reset(PHONE, what)
    code = last_code(svc)
    before = (customer_row(svc, customer), rows(svc, OneTimeCode))

    # When the new secret is not acceptable
    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.reset(PHONE, what, code, secret)

    # Then it is refused before the code is spent, and nothing changed
    assert exc.value.details == {"field": field}
    assert (customer_row(svc, customer), rows(svc, OneTimeCode)) == before


def test_reset_for_an_unknown_login_sends_nothing_and_is_refused_like_a_login(svc, make_customer):
    # Given one registered customer
    make_customer()
    before = (rows(svc, OneTimeCode), audit_count(svc))

    # When a reset code is asked for a number with no account
    sent = svc.recovery.start_reset("+6281999999999", "password")

    # Then there is no error to tell it apart from a real account, and no code is sent
    assert sent is None
    assert svc.outbox.messages_to("+6281999999999") == []
    # And a reset for it is refused like a wrong code for a real account; nothing was stored
    svc.recovery.start_reset(PHONE, "password")
    with pytest.raises(ValidationFailed) as unknown:
        svc.recovery.reset("+6281999999999", "password", "123456", NEW_PASSWORD)
    with pytest.raises(ValidationFailed) as wrong:
        svc.recovery.reset(PHONE, "password", other_than(last_code(svc)), NEW_PASSWORD)
    assert (unknown.value.code, unknown.value.message, unknown.value.details) == (
        wrong.value.code, wrong.value.message, wrong.value.details) == (
        "code_invalid", "the code is not correct or has expired; ask for a new one", {"field": "code"})
    assert rows(svc, OneTimeCode)[:len(before[0])] == before[0]


def test_reset_of_something_else_is_refused(svc, make_customer):
    make_customer()
    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.start_reset(PHONE, "email")
    assert exc.value.details == {"field": "what"}
    assert svc.outbox.messages_to(PHONE) == []


# ---------------------------------------------------------------- unlock with knowledge


def test_right_answers_unlock_the_account(svc, locked_customer):
    # Given a locked account
    # When the customer gives their name, ID last 4 and the amount of a recent top-up
    svc.recovery.unlock_with_knowledge(locked_customer, RIGHT)

    # Then the customer and the wallet are unlocked and the counter is reset
    view = svc.identity.get(locked_customer)
    assert (view.locked, view.lock_reason, view.failed_logins) == (False, None, 0)
    assert svc.wallet.summary(locked_customer).locked is False
    assert logs_in(svc, PHONE) is True
    # And the audit shows the check passed and the unlock via knowledge, by the customer
    assert [e.action for e in audit_rows(svc, locked_customer)][-3:] == [
        "identity.check_passed", "account.unlocked", "login.succeeded"]
    [unlocked] = audit_rows(svc, locked_customer, "account.unlocked")
    assert (unlocked.actor_type, unlocked.actor_id, unlocked.details) == (
        "customer", str(locked_customer), {"via": "knowledge"})


def test_name_is_compared_ignoring_case_and_spaces(svc, locked_customer):
    svc.recovery.unlock_with_knowledge(
        locked_customer, KnowledgeAnswers(name="  dewi   LESTARI ", id_last4=" 8901 ", recent_amount=150_000))

    assert svc.identity.get(locked_customer).locked is False


def test_the_amount_of_a_recent_payment_is_accepted(svc, make_customer, make_merchant):
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    paid = svc.payments.pay(customer, make_merchant(), 23_500, PIN, "pay-recent")
    assert paid.status == "succeeded"
    lock(svc)

    svc.recovery.unlock_with_knowledge(customer, replace(RIGHT, recent_amount=23_500))

    assert svc.identity.get(customer).locked is False


@pytest.mark.parametrize(("answers", "failed"), [
    (KnowledgeAnswers("Dewi Lestara", "8901", 150_000), ["name"]),
    (KnowledgeAnswers("Dewi Lestari", "8902", 150_000), ["id_last4"]),
    (KnowledgeAnswers("Dewi Lestari", "8901", 150_001), ["recent_amount"]),
    (KnowledgeAnswers("Someone", "0000", 1), ["name", "id_last4", "recent_amount"]),
])
def test_a_wrong_answer_keeps_the_account_locked(svc, locked_customer, answers, failed):
    # Given a locked account
    before = everything(svc, locked_customer)

    # When one of the answers is wrong
    with pytest.raises(PermissionDenied) as exc:
        svc.recovery.unlock_with_knowledge(locked_customer, answers)

    # Then it is refused without saying which answer was wrong
    assert (exc.value.code, exc.value.details) == ("verification_failed", {"attempts_left": 2})
    # And nothing changed: still locked, wallet locked
    assert everything(svc, locked_customer) == before
    assert svc.wallet.summary(locked_customer).locked is True
    # And the failed check is audited for the agent, naming the wrong answers (committed despite the error)
    [check] = audit_rows(svc, locked_customer, "identity.check_failed")
    assert (check.actor_type, check.details) == ("customer", {"purpose": "unlock", "failed": failed})


def test_the_amount_of_a_failed_payment_is_not_accepted(svc, make_customer, make_merchant):
    # Given a customer whose only payment failed (wrong PIN), then locked
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    declined = svc.payments.pay(customer, make_merchant(), 23_500, "147258", "pay-wrong-pin")
    assert (declined.status, declined.failure_reason) == ("failed", "PIN_INVALID")
    lock(svc, already_failed=1)

    # When its amount is given as the recent transaction
    with pytest.raises(PermissionDenied) as exc:
        svc.recovery.unlock_with_knowledge(customer, KnowledgeAnswers("Dewi Lestari", "8901", 23_500))

    # Then the answer is wrong
    assert exc.value.code == "verification_failed"
    assert svc.identity.get(customer).locked is True


def test_a_transaction_older_than_30_days_is_not_recent(svc, locked_customer, clock):
    # Given the top-up is 31 days old
    clock.advance(days=31)

    # When its amount is given
    with pytest.raises(PermissionDenied) as exc:
        svc.recovery.unlock_with_knowledge(locked_customer, RIGHT)

    # Then it does not count as a recent transaction
    assert exc.value.code == "verification_failed"
    [check] = audit_rows(svc, locked_customer, "identity.check_failed")
    assert check.details["failed"] == ["recent_amount"]


def test_three_wrong_answers_a_day_then_only_tomorrow(svc, locked_customer, clock):
    # Given 3 wrong answers today, an hour apart
    wrong = KnowledgeAnswers("Dewi Lestari", "0000", 150_000)
    for attempts_left in (2, 1, 0):
        with pytest.raises(PermissionDenied) as exc:
            svc.recovery.unlock_with_knowledge(locked_customer, wrong)
        assert exc.value.details == {"attempts_left": attempts_left}
        clock.advance(hours=1)

    # When even the right answers are given the same day
    before = (everything(svc, locked_customer), audit_count(svc))
    with pytest.raises(RateLimited) as exc:
        svc.recovery.unlock_with_knowledge(locked_customer, RIGHT)

    # Then they are not checked at all, and nothing changed
    assert exc.value.code == "verification_attempts_exhausted"
    assert (everything(svc, locked_customer), audit_count(svc)) == before

    # And a day after the first wrong answer, the check is open again and the right answers unlock
    clock.set(START + timedelta(days=1))
    svc.recovery.unlock_with_knowledge(locked_customer, RIGHT)
    assert svc.identity.get(locked_customer).locked is False


def test_unlocking_an_account_that_is_not_locked_is_a_conflict(svc, make_customer):
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    before = (everything(svc, customer), audit_count(svc))

    with pytest.raises(Conflict) as exc:
        svc.recovery.unlock_with_knowledge(customer, RIGHT)

    assert exc.value.code == "not_locked"
    assert (everything(svc, customer), audit_count(svc)) == before


# ---------------------------------------------------------------- unfreeze with knowledge and a code


@pytest.fixture
def frozen_customer(svc, make_customer):
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    svc.identity.freeze(customer, actor=Actor.customer(customer), reason="phone stolen")
    return customer


def test_unfreeze_needs_knowledge_and_a_step_up_code(svc, frozen_customer, make_merchant):
    # Given a frozen account and a step-up code sent to the phone
    svc.identity.send_code(frozen_customer, "step_up")

    # When the right answers and the code are given
    svc.recovery.unfreeze_with_knowledge(frozen_customer, RIGHT, last_code(svc))

    # Then the customer and the wallet are unfrozen, and money can leave again
    view = svc.identity.get(frozen_customer)
    assert (view.frozen, view.freeze_reason) == (False, None)
    assert svc.wallet.summary(frozen_customer).frozen is False
    paid = svc.payments.pay(frozen_customer, make_merchant(), 20_000, PIN, "pay-after-unfreeze")
    assert (paid.status, svc.wallet.summary(frozen_customer).balance) == ("succeeded", 130_000)
    [unfrozen] = audit_rows(svc, frozen_customer, "account.unfrozen")
    assert (unfrozen.actor_type, unfrozen.details) == ("customer", {"via": "knowledge+code"})


def test_unfreeze_with_a_wrong_code_stays_frozen(svc, frozen_customer):
    svc.identity.send_code(frozen_customer, "step_up")
    code = last_code(svc)
    before = everything(svc, frozen_customer)

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.unfreeze_with_knowledge(frozen_customer, RIGHT, other_than(code))

    assert exc.value.code == "code_invalid"
    assert everything(svc, frozen_customer) == before
    assert svc.wallet.summary(frozen_customer).frozen is True
    assert rows(svc, OneTimeCode)[0]["attempts"] == 1


def test_unfreeze_with_a_wrong_answer_stays_frozen_and_keeps_the_code(svc, frozen_customer):
    # Given a step-up code
    svc.identity.send_code(frozen_customer, "step_up")
    code = last_code(svc)
    before = everything(svc, frozen_customer)

    # When an answer is wrong
    with pytest.raises(PermissionDenied) as exc:
        svc.recovery.unfreeze_with_knowledge(frozen_customer, replace(RIGHT, id_last4="1111"), code)

    # Then it stays frozen, the check failure is audited, and the code was not spent
    assert exc.value.code == "verification_failed"
    assert everything(svc, frozen_customer) == before
    [check] = audit_rows(svc, frozen_customer, "identity.check_failed")
    assert check.details == {"purpose": "unfreeze", "failed": ["id_last4"]}
    assert rows(svc, OneTimeCode)[0]["used_at"] is None
    svc.recovery.unfreeze_with_knowledge(frozen_customer, RIGHT, code)
    assert svc.identity.get(frozen_customer).frozen is False


def test_unfreeze_without_a_code_sent_stays_frozen(svc, frozen_customer):
    before = everything(svc, frozen_customer)

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.unfreeze_with_knowledge(frozen_customer, RIGHT, "123456")

    assert exc.value.code == "code_expired"
    assert everything(svc, frozen_customer) == before


def test_unfreezing_an_account_that_is_not_frozen_is_a_conflict(svc, make_customer):
    customer = make_customer(balance=150_000, name="Dewi Lestari", id_number="3171012345678901")
    svc.identity.send_code(customer, "step_up")
    before = (everything(svc, customer), rows(svc, OneTimeCode))

    with pytest.raises(Conflict) as exc:
        svc.recovery.unfreeze_with_knowledge(customer, RIGHT, last_code(svc))

    assert exc.value.code == "not_frozen"
    assert (everything(svc, customer), rows(svc, OneTimeCode)) == before


# ---------------------------------------------------------------- documents reviewed by an agent


def test_an_approved_document_unlocks_the_account(svc, locked_customer, clock):
    # Given a locked customer who sends a photo of their ID card
    request_id = svc.recovery.submit_document(locked_customer, "unlock", "uploads/ktp-0001.jpg")
    [request] = rows(svc, VerificationRequest)
    assert (request["id"], request["status"], request["purpose"], request["submitted_at"]) == (
        request_id, "pending", "unlock", START)

    # When agent 42 approves it
    clock.advance(hours=3)
    decision = svc.recovery.review_document(request_id, agent_id=42, approve=True,
                                            note="  KTP photo matches the account holder ")

    # Then the account is unlocked by the agent, via the document
    assert decision == "approved"
    view = svc.identity.get(locked_customer)
    assert (view.locked, view.failed_logins) == (False, 0)
    assert svc.wallet.summary(locked_customer).locked is False
    [unlocked] = audit_rows(svc, locked_customer, "account.unlocked")
    assert (unlocked.actor_type, unlocked.actor_id, unlocked.details) == ("agent", "42", {"via": "document"})
    # And the review is stored and audited with the note
    [request] = rows(svc, VerificationRequest)
    assert (request["status"], request["reviewed_by"], request["reviewed_at"], request["note"]) == (
        "approved", 42, START + timedelta(hours=3), "KTP photo matches the account holder")
    [reviewed] = audit_rows(svc, locked_customer, "identity.document_reviewed")
    assert (reviewed.actor_id, reviewed.reason, reviewed.details) == (
        "42", "KTP photo matches the account holder",
        {"request_id": request_id, "decision": "approved", "purpose": "unlock"})
    [submitted] = audit_rows(svc, locked_customer, "identity.document_submitted")
    assert submitted.details == {"purpose": "unlock", "request_id": request_id}


def test_an_approved_document_lifts_a_freeze(svc, frozen_customer):
    request_id = svc.recovery.submit_document(frozen_customer, "unfreeze", "uploads/ktp-0002.jpg")

    assert svc.recovery.review_document(request_id, agent_id=42, approve=True, note="selfie matches") == "approved"

    assert svc.identity.get(frozen_customer).frozen is False
    assert svc.wallet.summary(frozen_customer).frozen is False
    [unfrozen] = audit_rows(svc, frozen_customer, "account.unfrozen")
    assert (unfrozen.actor_id, unfrozen.details) == ("42", {"via": "document"})


def test_an_approved_document_changes_a_lost_phone(svc, make_customer):
    # Given a customer who lost their phone and asks to move the account to a new number
    customer = make_customer(phone="+6281234567890")
    request_id = svc.recovery.submit_document(customer, "change_phone", "uploads/ktp-0003.jpg",
                                              new_value="0813-9876-5432")
    assert rows(svc, VerificationRequest)[0]["new_value"] == "+6281398765432"

    # When the agent approves it
    svc.recovery.review_document(request_id, agent_id=42, approve=True, note="ID and selfie match")

    # Then the phone is changed, and the audit shows the old and new numbers masked
    assert svc.identity.get(customer).phone == "+6281398765432"
    assert logs_in(svc, "0813-9876-5432") is True
    [changed] = audit_rows(svc, customer, "contact.phone_changed")
    assert (changed.actor_type, changed.actor_id, changed.details) == (
        "agent", "42", {"via": "document", "old": "0812****7890", "new": "0813****5432"})


def test_a_rejected_document_changes_nothing(svc, locked_customer):
    request_id = svc.recovery.submit_document(locked_customer, "unlock", "uploads/blurry.jpg")
    before = customer_row(svc, locked_customer), ledger_snapshot(svc)

    decision = svc.recovery.review_document(request_id, agent_id=42, approve=False, note="photo is unreadable")

    assert decision == "rejected"
    assert (customer_row(svc, locked_customer), ledger_snapshot(svc)) == before
    assert svc.identity.get(locked_customer).locked is True
    assert rows(svc, VerificationRequest)[0]["status"] == "rejected"
    [reviewed] = audit_rows(svc, locked_customer, "identity.document_reviewed")
    assert (reviewed.reason, reviewed.details["decision"]) == ("photo is unreadable", "rejected")


def test_reviewing_twice_is_a_conflict(svc, locked_customer):
    # Given a request that was rejected
    request_id = svc.recovery.submit_document(locked_customer, "unlock", "uploads/ktp.jpg")
    svc.recovery.review_document(request_id, agent_id=42, approve=False, note="not readable")
    before = (everything(svc, locked_customer), audit_count(svc))

    # When another agent tries to approve it
    with pytest.raises(Conflict) as exc:
        svc.recovery.review_document(request_id, agent_id=43, approve=True, note="looks fine to me")

    # Then it is refused and nothing changed
    assert (exc.value.code, exc.value.details) == ("already_reviewed", {"status": "rejected"})
    assert (everything(svc, locked_customer), audit_count(svc)) == before
    assert svc.identity.get(locked_customer).locked is True


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_review_needs_a_note(svc, locked_customer, note):
    request_id = svc.recovery.submit_document(locked_customer, "unlock", "uploads/ktp.jpg")
    before = (everything(svc, locked_customer), audit_count(svc))

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.review_document(request_id, agent_id=42, approve=True, note=note)

    assert exc.value.details == {"field": "note"}
    assert (everything(svc, locked_customer), audit_count(svc)) == before
    assert rows(svc, VerificationRequest)[0]["status"] == "pending"


def test_reviewing_an_unknown_request_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.recovery.review_document(999, agent_id=42, approve=True, note="ok")
    assert audit_count(svc) == 0


@pytest.mark.parametrize(("purpose", "ref", "new_value", "field"), [
    ("reset_everything", "uploads/ktp.jpg", None, "purpose"),
    ("unlock", "", None, "document_ref"),
    ("unlock", "x" * 201, None, "document_ref"),
    ("change_phone", "uploads/ktp.jpg", "not a phone", "phone"),
    ("change_email", "uploads/ktp.jpg", "not-an-email", "email"),
])
def test_an_invalid_document_submission_stores_nothing(svc, make_customer, purpose, ref, new_value, field):
    customer = make_customer()
    before = (everything(svc, customer), audit_count(svc))

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.submit_document(customer, purpose, ref, new_value=new_value)

    assert exc.value.details == {"field": field}
    assert (everything(svc, customer), audit_count(svc)) == before


def test_an_approved_phone_change_to_a_taken_number_is_a_conflict(svc, make_customer):
    # Given a request to move to a number that another customer registered meanwhile
    customer = make_customer(phone="+6281234567890")
    request_id = svc.recovery.submit_document(customer, "change_phone", "uploads/ktp.jpg",
                                              new_value="0813-9876-5432")
    make_customer(phone="+6281398765432")
    before = (everything(svc, customer), audit_count(svc))

    # When the agent approves it
    with pytest.raises(Conflict) as exc:
        svc.recovery.review_document(request_id, agent_id=42, approve=True, note="ID matches")

    # Then nothing changed: the phone is kept and the request is still pending
    assert exc.value.code == "contact_taken"
    assert (everything(svc, customer), audit_count(svc)) == before


# ---------------------------------------------------------------- phone and email changes


@pytest.fixture
def phone_customer(make_customer):
    return make_customer(phone="+6281234567890")


def test_a_phone_change_sends_codes_to_the_old_and_new_number(svc, phone_customer):
    # When the customer asks to change their phone to 0813-9876-5432
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")

    # Then one code goes to the old number and one to the new one
    [old] = svc.outbox.messages_to("+6281234567890")
    [new] = svc.outbox.messages_to("+6281398765432")
    assert (old.purpose, old.channel, new.purpose, new.channel) == ("change_old", "sms", "change_new", "sms")
    assert (started.old.destination_masked, started.new.destination_masked) == ("0812****7890", "0813****5432")
    # And the change waits for both codes
    [change] = rows(svc, ContactChange)
    assert (change["id"], change["field"], change["new_value"], change["status"]) == (
        started.change_id, "phone", "+6281398765432", "pending")
    assert (change["old_code_id"], change["new_code_id"]) == (started.old.code_id, started.new.code_id)
    assert svc.identity.get(phone_customer).phone == "+6281234567890"


def test_both_codes_change_the_phone(svc, phone_customer, clock):
    # Given a started phone change
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")

    # When both codes are confirmed
    clock.advance(minutes=1)
    svc.recovery.confirm_contact_change(phone_customer, started.change_id, last_code(svc, "+6281234567890"),
                                        last_code(svc, "+6281398765432"))

    # Then the phone is changed: the new number logs in, the old one does not
    assert svc.identity.get(phone_customer).phone == "+6281398765432"
    assert logs_in(svc, "0813-9876-5432") is True
    assert logs_in(svc, "0812-3456-7890") is False
    # And the audit has the old and new number masked
    [changed] = audit_rows(svc, phone_customer, "contact.phone_changed")
    assert (changed.actor_type, changed.actor_id, changed.details) == (
        "customer", str(phone_customer), {"via": "codes", "old": "0812****7890", "new": "0813****5432"})
    assert "+6281398765432" not in str(changed.details)
    [change] = rows(svc, ContactChange)
    assert (change["status"], change["completed_at"]) == ("done", START + timedelta(minutes=1))


def test_a_wrong_old_code_changes_nothing(svc, phone_customer):
    # Given a started phone change
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")
    old, new = last_code(svc, "+6281234567890"), last_code(svc, "+6281398765432")
    before = everything(svc, phone_customer)

    # When the code for the old number is wrong
    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.confirm_contact_change(phone_customer, started.change_id, other_than(old), new)

    # Then nothing changed, and the right codes still work afterwards
    assert exc.value.code == "code_invalid"
    assert everything(svc, phone_customer) == before
    svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, new)
    assert svc.identity.get(phone_customer).phone == "+6281398765432"


def test_a_wrong_new_code_changes_nothing_and_spends_neither_code(svc, phone_customer):
    # Given a started phone change
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")
    old, new = last_code(svc, "+6281234567890"), last_code(svc, "+6281398765432")
    before = everything(svc, phone_customer)

    # When the code for the new number is wrong
    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, other_than(new))

    # Then nothing changed: the old code is not spent, only the wrong guess is counted
    assert exc.value.code == "code_invalid"
    assert everything(svc, phone_customer) == before
    old_row, new_row = rows(svc, OneTimeCode)
    assert (old_row["used_at"], old_row["attempts"], new_row["used_at"], new_row["attempts"]) == (None, 0, None, 1)
    # And the customer can retry with both right codes
    svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, new)
    assert svc.identity.get(phone_customer).phone == "+6281398765432"


def test_a_phone_change_to_another_customers_number_is_refused_at_once(svc, phone_customer, make_customer):
    # Given another customer with 0813-9876-5432
    make_customer(phone="+6281398765432")
    before = (everything(svc, phone_customer), rows(svc, OneTimeCode), audit_count(svc))

    # When the first customer asks to move to that number
    with pytest.raises(Conflict) as exc:
        svc.recovery.start_contact_change(phone_customer, "phone", "0813 9876 5432")

    # Then it is refused, and no code was sent to either number
    assert (exc.value.code, exc.value.details) == ("contact_taken", {"field": "phone"})
    assert (everything(svc, phone_customer), rows(svc, OneTimeCode), audit_count(svc)) == before
    assert svc.outbox.messages_to("+6281234567890") == []
    assert svc.outbox.messages_to("+6281398765432") == []


def test_a_number_taken_before_confirming_changes_nothing(svc, phone_customer, make_customer):
    # Given a started change, and someone else registering the new number before it is confirmed
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")
    old, new = last_code(svc, "+6281234567890"), last_code(svc, "+6281398765432")
    make_customer(phone="+6281398765432")
    before = (everything(svc, phone_customer), rows(svc, OneTimeCode))

    # When both right codes are confirmed
    with pytest.raises(Conflict) as exc:
        svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, new)

    # Then it is refused, and nothing changed: the phone, the pending change and both codes are as they were
    assert exc.value.code == "contact_taken"
    assert (everything(svc, phone_customer), rows(svc, OneTimeCode)) == before
    assert audit_rows(svc, phone_customer, "contact.phone_changed") == []


def test_an_email_change_for_a_customer_without_email_sends_the_old_code_by_sms(svc, make_customer):
    # Given a customer without an email
    customer = make_customer(email=False)

    # When they add an email address
    started = svc.recovery.start_contact_change(customer, "email", " Dewi@Example.com ")

    # Then the old-side code goes to their phone and the new-side code to the email
    assert (started.old.channel, started.new.channel) == ("sms", "email")
    [to_phone] = svc.outbox.messages_to(PHONE)
    [to_email] = svc.outbox.messages_to("dewi@example.com")
    assert (to_phone.purpose, to_email.purpose) == ("change_old", "change_new")

    # And confirming both sets the email
    svc.recovery.confirm_contact_change(customer, started.change_id, last_code(svc, PHONE),
                                        last_code(svc, "dewi@example.com"))
    assert svc.identity.get(customer).email == "dewi@example.com"
    [changed] = audit_rows(svc, customer, "contact.email_changed")
    assert changed.details == {"via": "codes", "old": None, "new": "d***i@example.com"}


def test_a_change_cannot_be_confirmed_twice_or_by_another_customer(svc, phone_customer, make_customer):
    other = make_customer()
    started = svc.recovery.start_contact_change(phone_customer, "phone", "0813-9876-5432")
    old, new = last_code(svc, "+6281234567890"), last_code(svc, "+6281398765432")

    # Another customer cannot confirm it, even with the right codes
    with pytest.raises(NotFound):
        svc.recovery.confirm_contact_change(other, started.change_id, old, new)
    assert rows(svc, ContactChange)[0]["status"] == "pending"

    # The owner confirms it once; a second confirmation finds nothing pending
    svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, new)
    before = everything(svc, phone_customer)
    with pytest.raises(NotFound):
        svc.recovery.confirm_contact_change(phone_customer, started.change_id, old, new)
    assert everything(svc, phone_customer) == before


@pytest.mark.parametrize(("field", "value", "error_field"), [
    ("phone", "12", "phone"),
    ("email", "nope", "email"),
    ("name", "Dewi", "field"),
])
def test_an_invalid_contact_change_is_refused_and_sends_nothing(svc, phone_customer, field, value, error_field):
    before = (everything(svc, phone_customer), rows(svc, OneTimeCode))

    with pytest.raises(ValidationFailed) as exc:
        svc.recovery.start_contact_change(phone_customer, field, value)

    assert exc.value.details == {"field": error_field}
    assert (everything(svc, phone_customer), rows(svc, OneTimeCode)) == before
