"""KYC tier limits with exact numbers and exact reset times (Asia/Jakarta)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gopaycare.platform.settings import load_settings
from tests.conftest import ledger_snapshot


def test_default_limits_follow_gopay_rules():
    limits = load_settings().limits
    assert (limits.basic.balance_cap, limits.plus.balance_cap) == (2_000_000, 20_000_000)
    assert (limits.basic.monthly_incoming, limits.plus.monthly_incoming) == (20_000_000, 40_000_000)


def test_daily_limit_says_limit_used_and_reset_time(svc, make_customer, make_merchant):
    # Given a basic customer who has spent Rp 1.450.000 today (limit Rp 2.000.000)
    customer = make_customer(balance=1_500_000)
    merchant = make_merchant()
    svc.wallet.pay_merchant(customer, merchant, 1_450_000, "d-1")
    svc.wallet.topup(customer, 1_000_000, "card", "d-top")
    before = ledger_snapshot(svc)

    # When they try to pay Rp 800.000 more
    txn = svc.wallet.pay_merchant(customer, merchant, 800_000, "d-2")

    # Then it fails with the numbers that explain it, and nothing moved
    assert txn.failure_reason == "DAILY_LIMIT_EXCEEDED"
    assert txn.failure_details == {"limit": 2_000_000, "used": 1_450_000, "amount": 800_000, "remaining": 550_000,
                                   "resets_at": "2026-11-26T00:00:00+07:00"}
    after = ledger_snapshot(svc)
    assert (after["accounts"], after["transfers"]) == (before["accounts"], before["transfers"])
    # Exactly the remaining amount still goes through
    assert svc.wallet.pay_merchant(customer, merchant, 550_000, "d-3").status == "succeeded"


def test_daily_limit_resets_at_midnight_jakarta(svc, make_customer, make_merchant, clock):
    customer = make_customer(balance=2_000_000)
    merchant = make_merchant()
    svc.wallet.pay_merchant(customer, merchant, 1_000_000, "m-1")
    svc.wallet.topup(customer, 1_000_000, "card", "m-top")

    # 23:59:59 WIB on the same day: still today
    clock.set(datetime(2026, 11, 25, 16, 59, 59, tzinfo=UTC))
    assert svc.wallet.pay_merchant(customer, merchant, 1_000_001, "m-2").failure_reason == "DAILY_LIMIT_EXCEEDED"
    assert svc.wallet.summary(customer).daily_outgoing.used == 1_000_000

    # 00:00 WIB the next day: a new day
    clock.set(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    summary = svc.wallet.summary(customer)
    assert (summary.daily_outgoing.used, summary.daily_outgoing.resets_at.isoformat()) == (
        0, "2026-11-27T00:00:00+07:00")
    assert svc.wallet.pay_merchant(customer, merchant, 1_000_001, "m-3").status == "succeeded"


def test_plus_tier_has_its_own_limits(svc, make_customer, make_merchant):
    customer = make_customer(tier="plus", balance=15_000_000)
    summary = svc.wallet.summary(customer)
    assert (summary.balance_cap, summary.daily_outgoing.limit, summary.monthly_incoming.limit) == (
        20_000_000, 20_000_000, 40_000_000)
    assert svc.wallet.pay_merchant(customer, make_merchant(), 9_000_000, "plus-1").status == "succeeded"


def test_balance_cap_for_basic_and_after_upgrade(svc, make_customer):
    customer = make_customer(balance=1_900_000)

    refused = svc.wallet.topup(customer, 200_000, "card", "cap-1")
    assert refused.failure_details == {"cap": 2_000_000, "balance": 1_900_000, "amount": 200_000, "room": 100_000}
    assert svc.wallet.topup(customer, 100_000, "card", "cap-2").status == "succeeded"

    svc.wallet.set_tier(customer, "plus")
    assert svc.wallet.topup(customer, 200_000, "card", "cap-3").status == "succeeded"
    assert svc.wallet.summary(customer).balance == 2_200_000


def test_monthly_incoming_limit_and_reset_on_the_first(svc, make_customer, make_merchant, clock):
    # Given a Plus customer who brought in Rp 39.000.000 this month
    customer = make_customer(tier="plus")
    merchant = make_merchant()
    svc.wallet.topup(customer, 19_500_000, "card", "mo-1")
    svc.wallet.pay_merchant(customer, merchant, 9_900_000, "mo-2")
    svc.wallet.withdraw(customer, 9_500_000, "1234567890", "mo-3")
    svc.wallet.topup(customer, 19_500_000, "card", "mo-4")
    before = ledger_snapshot(svc)

    # When another Rp 1.500.000 comes in
    txn = svc.wallet.topup(customer, 1_500_000, "card", "mo-5")

    # Then it is refused with the month's numbers (also above the cap: the month is said first)
    assert txn.failure_reason == "MONTHLY_LIMIT_EXCEEDED"
    assert txn.failure_details == {"limit": 40_000_000, "used": 39_000_000, "amount": 1_500_000,
                                   "remaining": 1_000_000, "resets_at": "2026-12-01T00:00:00+07:00"}
    after = ledger_snapshot(svc)
    assert (after["accounts"], after["transfers"]) == (before["accounts"], before["transfers"])

    # And on 1 December 00:00 WIB the allowance is new (the cap still applies)
    clock.set(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    assert svc.wallet.summary(customer).monthly_incoming.used == 0
    assert svc.wallet.topup(customer, 400_000, "card", "mo-6").status == "succeeded"


@pytest.mark.parametrize("tier", ["gold", ""])
def test_unknown_tier_is_refused(svc, make_customer, tier):
    from gopaycare.platform.errors import ValidationFailed

    customer = make_customer()
    with pytest.raises(ValidationFailed):
        svc.wallet.set_tier(customer, tier)
    assert svc.wallet.summary(customer).tier == "basic"


def test_limits_are_configurable(monkeypatch):
    monkeypatch.setenv("GOPAYCARE_LIMITS__BASIC__DAILY_OUTGOING", "500000")
    assert load_settings().limits.basic.daily_outgoing == 500_000
