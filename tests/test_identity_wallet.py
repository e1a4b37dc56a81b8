"""Identity and the wallet as two systems (ADR 0007): registration opens the wallet after the
customer commits, lock and freeze are mirrored into the wallet in an order that never leaves it
less strict than identity, and a failed wallet call is retried by a job until the two agree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gopaycare.platform import audit
from gopaycare.platform.audit import Actor
from gopaycare.platform.errors import NotFound
from tests.conftest import PASSWORD, PIN, ledger_snapshot

WRONG_PIN = "000000"


class WalletDown(Exception):
    """What an operator's wallet adapter raises when its core system does not answer."""


class FlakyWallet:
    """The reference wallet behind a network: the chosen calls fail the next `times` times."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures: dict[str, int] = {}
        self.before: dict[str, Callable[..., None]] = {}

    def fail(self, method: str, times: int) -> None:
        self.failures[method] = times

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.inner, name)
        if not callable(real):
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            if (hook := self.before.pop(name, None)) is not None:
                hook(*args, **kwargs)
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                raise WalletDown(f"{name}: the wallet did not answer")
            return real(*args, **kwargs)

        return call


@pytest.fixture
def flaky(svc) -> FlakyWallet:
    """Identity's wallet, made flaky (tests still read and pay through the reference wallet)."""
    wallet = FlakyWallet(svc.wallet)
    svc.identity.wallet = svc.identity.wallet_link.wallet = wallet
    return wallet


def run_retries(svc) -> int:
    """Run the job retries waiting on the schedule (in tests a job runs at once; its retry waits)."""
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    tasks = svc.huey.read_schedule(later)
    for task in tasks:
        svc.huey.execute(task, timestamp=later)
    return len(tasks)


def flags(svc, customer: int) -> tuple[bool, bool, bool, bool]:
    """(identity locked, identity frozen, wallet locked, wallet frozen)."""
    view, wallet = svc.identity.get(customer), svc.wallet.summary(customer)
    return view.locked, view.frozen, wallet.locked, wallet.frozen


def audit_actions(svc, customer: int) -> list[str]:
    with svc.db.read() as s:
        return [e.action for e in audit.history(s, "customer", customer)]


def pays_nothing(svc, customer: int, merchant: int, key: str, reason: str) -> None:
    """A payment with the right PIN is declined for `reason`, and no money moves."""
    before = ledger_snapshot(svc)
    txn = svc.payments.pay(customer, merchant, 10_000, PIN, key)
    after = ledger_snapshot(svc)
    assert (txn.status, txn.failure_reason) == ("failed", reason)
    assert (after["accounts"], after["transfers"]) == (before["accounts"], before["transfers"])


def lock_with_wrong_pins(svc, customer: int, merchant: int) -> None:
    for attempt in range(svc.settings.max_failed_logins):
        svc.payments.pay(customer, merchant, 10_000, WRONG_PIN, f"wrong-pin-{attempt}")


def approve(svc, customer: int, purpose: str) -> None:
    request = svc.recovery.submit_document(customer, purpose, "ktp-scan-1")
    assert svc.recovery.review_document(request, agent_id=7, approve=True, note="ID matches") == "approved"


# ---------------------------------------------------------------- registration


def test_a_wallet_down_at_registration_is_opened_by_the_retry(svc, flaky):
    # Given a wallet that fails the first open and the job's first run
    flaky.fail("open_wallet", times=2)

    # When a customer registers
    view = svc.identity.register(phone="0812-3456-7890", name="Siti Rahma", password=PASSWORD, pin=PIN,
                                 tier="plus")

    # Then the customer exists (registered once) and the wallet is not open yet
    assert svc.identity.get(view.id).name == "Siti Rahma"
    assert audit_actions(svc, view.id) == ["customer.registered"]
    with pytest.raises(NotFound):
        svc.wallet.summary(view.id)

    # When the job's retry runs
    assert run_retries(svc) == 1

    # Then the wallet is open with the tier asked for, and the customer can log in
    wallet = svc.wallet.summary(view.id)
    assert (wallet.tier, wallet.balance, wallet.locked, wallet.frozen) == ("plus", 0, False, False)
    assert svc.identity.login_with_password("+6281234567890", PASSWORD).customer_id == view.id
    # And opening again (a duplicate job) changes nothing
    svc.tasks["open_wallet"](view.id, "plus")
    assert svc.wallet.summary(view.id) == wallet


def test_a_freeze_before_the_wallet_opens_is_copied_when_it_opens(svc, flaky, make_merchant):
    # Given a customer whose wallet could not be opened yet
    flaky.fail("open_wallet", times=2)
    customer = svc.identity.register(phone="0812-3456-7890", name="Budi", password=PASSWORD, pin=PIN).id

    # When the customer reports a stolen phone
    view = svc.identity.freeze(customer, actor=Actor.customer(customer), reason="phone stolen")
    assert view.frozen is True

    # Then the wallet opens frozen: nothing can leave it
    assert run_retries(svc) == 1
    assert flags(svc, customer) == (False, True, False, True)
    svc.wallet.topup(customer, 50_000, "card", "topup-1")
    pays_nothing(svc, customer, make_merchant(), "pay-1", "ACCOUNT_FROZEN")


# ---------------------------------------------------------------- freeze


def test_a_freeze_the_wallet_refuses_changes_nothing_and_its_retry_freezes(svc, flaky, make_customer):
    # Given a customer, and a wallet that fails the next restriction call
    customer = make_customer(balance=30_000)
    flaky.fail("set_restrictions", times=1)
    before = (ledger_snapshot(svc), audit_actions(svc, customer))

    # When an agent freezes the account, the call fails and nothing changed
    with pytest.raises(WalletDown):
        svc.identity.freeze(customer, actor=Actor.agent(7), reason="fraud report")
    assert (ledger_snapshot(svc), audit_actions(svc, customer)) == before
    assert flags(svc, customer) == (False, False, False, False)

    # When the agent tries again, the freeze holds in both
    svc.identity.freeze(customer, actor=Actor.agent(7), reason="fraud report")
    assert flags(svc, customer) == (False, True, False, True)
    assert audit_actions(svc, customer)[-1] == "account.frozen"


def test_a_freeze_that_fails_after_the_wallet_froze_leaves_it_frozen_until_its_retry(
        svc, make_customer, make_merchant, monkeypatch):
    # Given a customer with money
    customer = make_customer(balance=30_000)
    merchant = make_merchant()

    # When identity's unit of work fails after the wallet was frozen (the database goes away)
    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("server closed the connection")

    monkeypatch.setattr(audit, "record", database_gone)
    with pytest.raises(RuntimeError):
        svc.identity.freeze(customer, actor=Actor.agent(7), reason="fraud report")
    monkeypatch.undo()

    # Then the wallet is more strict than identity, never less: no money can leave
    assert flags(svc, customer) == (False, False, False, True)
    pays_nothing(svc, customer, merchant, "pay-1", "ACCOUNT_FROZEN")

    # And the agent's retry records the freeze once
    svc.identity.freeze(customer, actor=Actor.agent(7), reason="fraud report")
    assert flags(svc, customer) == (False, True, False, True)
    assert audit_actions(svc, customer).count("account.frozen") == 1


def test_a_wallet_down_while_lifting_a_freeze_keeps_money_in_until_the_retry(
        svc, flaky, make_customer, make_merchant):
    # Given a frozen customer with money, and a wallet that fails twice (the call and the job's first run)
    customer = make_customer(balance=30_000)
    merchant = make_merchant()
    svc.identity.freeze(customer, actor=Actor.customer(customer), reason="phone stolen")
    flaky.fail("set_restrictions", times=2)

    # When an agent approves the customer's document to lift the freeze
    approve(svc, customer, "unfreeze")

    # Then identity has lifted it, the wallet still refuses outgoing money
    assert flags(svc, customer) == (False, False, False, True)
    pays_nothing(svc, customer, merchant, "pay-1", "ACCOUNT_FROZEN")

    # When the job retries, the wallet agrees and the customer can pay again
    assert run_retries(svc) == 1
    assert flags(svc, customer) == (False, False, False, False)
    paid = svc.payments.pay(customer, merchant, 10_000, PIN, "pay-2")
    assert (paid.status, svc.wallet.summary(customer).balance) == ("succeeded", 20_000)


def test_a_stale_unfreeze_cannot_lift_a_freeze_that_committed_meanwhile(svc, flaky, make_customer,
                                                                        make_merchant):
    # Given a frozen customer whose freeze an agent lifts
    customer = make_customer(balance=30_000)
    svc.identity.freeze(customer, actor=Actor.customer(customer), reason="phone stolen")

    # And, between the unfreeze's read of identity and its write to the wallet, a new freeze
    def freeze_meanwhile(*args: Any, **kwargs: Any) -> None:
        svc.identity.freeze(customer, actor=Actor.agent(8), reason="second fraud report")

    flaky.before["set_restrictions"] = freeze_meanwhile
    approve(svc, customer, "unfreeze")

    # Then the unfreeze's write (stale) did not win: both are frozen, no money can leave
    assert flags(svc, customer) == (False, True, False, True)
    pays_nothing(svc, customer, make_merchant(), "pay-1", "ACCOUNT_FROZEN")


# ---------------------------------------------------------------- lock


def test_a_wallet_down_when_wrong_pins_lock_the_account_is_repaired_by_the_retry(
        svc, flaky, make_customer, make_merchant):
    # Given a customer with money, and a wallet that fails twice (the call and the job's first run)
    customer = make_customer(balance=30_000)
    merchant = make_merchant()
    flaky.fail("set_restrictions", times=2)

    # When wrong PINs lock the account
    lock_with_wrong_pins(svc, customer, merchant)

    # Then identity's lock (committed with the counter) already refuses the right PIN and logins
    assert flags(svc, customer) == (True, False, False, False)
    pays_nothing(svc, customer, merchant, "pay-1", "ACCOUNT_LOCKED")
    assert svc.identity.get(customer).failed_logins == svc.settings.max_failed_logins

    # And the job's retry sets the wallet's flag too
    assert run_retries(svc) == 1
    assert flags(svc, customer) == (True, False, True, False)


def test_a_wallet_call_that_fails_once_is_repaired_by_the_job_at_once(svc, flaky, make_customer,
                                                                       make_merchant):
    # Given a wallet that fails the next restriction call only
    customer = make_customer(balance=30_000)
    flaky.fail("set_restrictions", times=1)

    # When wrong PINs lock the account
    lock_with_wrong_pins(svc, customer, make_merchant())

    # Then the job queued for the failure already set the flag: nothing is left to retry
    assert flags(svc, customer) == (True, False, True, False)
    assert run_retries(svc) == 0


def test_a_wallet_down_while_unlocking_keeps_money_in_until_the_retry(svc, flaky, make_customer,
                                                                      make_merchant):
    # Given a customer locked by wrong PINs, and a wallet that fails twice
    customer = make_customer(balance=30_000)
    merchant = make_merchant()
    lock_with_wrong_pins(svc, customer, merchant)
    assert flags(svc, customer) == (True, False, True, False)
    flaky.fail("set_restrictions", times=2)

    # When an agent approves the customer's document to unlock
    approve(svc, customer, "unlock")

    # Then the PIN works again, but the wallet still refuses until it agrees
    assert flags(svc, customer) == (False, False, True, False)
    pays_nothing(svc, customer, merchant, "pay-1", "ACCOUNT_LOCKED")

    # When the job retries, the customer can pay
    assert run_retries(svc) == 1
    assert flags(svc, customer) == (False, False, False, False)
    paid = svc.payments.pay(customer, merchant, 10_000, PIN, "pay-2")
    assert (paid.status, svc.wallet.summary(customer).balance) == ("succeeded", 20_000)


def test_the_sync_job_is_idempotent(svc, make_customer):
    # Given a frozen customer
    customer = make_customer()
    svc.identity.freeze(customer, actor=Actor.agent(7), reason="fraud report")
    before = (flags(svc, customer), ledger_snapshot(svc), audit_actions(svc, customer))

    # When the sync job runs twice more
    svc.tasks["sync_wallet_restrictions"](customer)
    svc.tasks["sync_wallet_restrictions"](customer)

    # Then nothing changed
    assert (flags(svc, customer), ledger_snapshot(svc), audit_actions(svc, customer)) == before
