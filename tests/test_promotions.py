"""The promotions engine: campaigns, one decision per payment, credit through the wallet, and the
rule that failed, with its numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gopaycare.platform.audit import Actor
from gopaycare.platform.errors import Conflict, NotFound, ValidationFailed
from gopaycare.promotions.models import Campaign, Decision
from gopaycare.wallet.verify import verify
from tests.conftest import PIN, START
from tests.helpers import race

ADMIN = Actor.agent(1)


def campaign(svc, code="JAJAN10", *, starts=START - timedelta(days=1), ends=START + timedelta(days=90), **kw):
    if "flat_amount" not in kw:
        kw.setdefault("percent", 10)
    return svc.promotions.create(code, {"en": f"{code} promo", "zh-CN": f"{code}活动", "id": f"Promo {code}"},
                                 starts, ends, actor=ADMIN, **kw)


def counts(svc):
    with svc.db.read() as s:
        return (s.execute(select(func.count()).select_from(Campaign)).scalar_one(),
                s.execute(select(func.count()).select_from(Decision)).scalar_one())


def failed_rules(evaluation, code):
    result = next(r for r in evaluation.results if r.campaign.code == code)
    return {c.rule: c.facts for c in result.failed}


# ---------------------------------------------------------------- campaigns


@pytest.mark.parametrize("changes,field", [
    ({"rules": {"min_amout": 5}}, "rules"),
    ({"rules": {"min_amount": -5}}, "min_amount"),
    ({"rules": {"channels": ["cash"]}}, "channels"),
    ({"rules": {"tiers": []}}, "tiers"),
    ({"rules": {"max_per_customer": True}}, "max_per_customer"),
    ({"percent": 0}, "percent"),
    ({"percent": 10, "flat_amount": 5_000}, "percent"),
    ({"budget": 0}, "budget"),
    ({"ends": START - timedelta(days=2)}, "ends_at"),
])
def test_a_bad_campaign_is_refused_and_nothing_is_stored(svc, changes, field):
    before = counts(svc)
    with pytest.raises(ValidationFailed) as caught:
        campaign(svc, **changes)
    assert caught.value.details["field"] == field
    assert counts(svc) == before


def test_codes_are_unique_and_an_ended_campaign_stays_ended(svc):
    campaign(svc, "JAJAN10")
    with pytest.raises(Conflict):
        campaign(svc, "jajan10")
    assert svc.promotions.set_status("JAJAN10", "ended", actor=ADMIN).status == "ended"
    with pytest.raises(Conflict):
        svc.promotions.set_status("JAJAN10", "active", actor=ADMIN)
    assert svc.promotions.get("JAJAN10").status == "ended"
    with pytest.raises(NotFound):
        svc.promotions.get("NOPE")


# ---------------------------------------------------------------- awarding


def test_an_eligible_payment_is_credited_once(svc, make_customer, make_merchant):
    campaign(svc, percent=10, max_cashback=10_000, rules={"merchant_categories": ["food"], "min_amount": 25_000,
                                                           "channels": ["qr"]})
    customer = make_customer(balance=200_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 60_000, "p-1")

    first = svc.promotions.award(customer, payment.reference)
    again = svc.promotions.award(customer, payment.reference)

    assert (first.status, first.amount, first.campaign_code) == ("credited", 6_000, "JAJAN10")
    assert again == first
    assert svc.wallet.summary(customer).balance == 200_000 - 60_000 + 6_000
    credit = svc.wallet.get_transaction(first.cashback_reference)
    assert (credit.kind, credit.amount, credit.original_reference) == ("cashback", 6_000, payment.reference)
    assert svc.promotions.get("JAJAN10").granted_total == 6_000
    assert verify(svc.db).ok


def test_the_cap_and_the_largest_reward_win(svc, make_customer, make_merchant):
    campaign(svc, "SMALL", flat_amount=3_000)
    campaign(svc, "CAPPED", percent=20, max_cashback=8_000)
    customer = make_customer(balance=500_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 100_000, "p-1")

    decision = svc.promotions.award(customer, payment.reference)

    assert (decision.campaign_code, decision.amount) == ("CAPPED", 8_000)  # 20% = 20.000, capped; beats 3.000
    assert svc.promotions.get("SMALL").granted_total == 0


def test_a_payment_that_meets_no_campaign_is_decided_as_none(svc, make_customer, make_merchant):
    campaign(svc, rules={"min_amount": 50_000})
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 30_000, "p-1")

    decision = svc.promotions.award(customer, payment.reference)

    assert (decision.status, decision.amount, decision.campaign_code) == ("none", 0, None)
    assert svc.wallet.summary(customer).balance == 70_000


def test_another_customers_payment_is_not_found(svc, make_customer, make_merchant):
    campaign(svc)
    owner, other = make_customer(balance=100_000), make_customer()
    payment = svc.wallet.pay_merchant(owner, make_merchant(), 30_000, "p-1")
    before = counts(svc)
    with pytest.raises(NotFound):
        svc.promotions.award(other, payment.reference)
    with pytest.raises(NotFound):
        svc.promotions.evaluate(other, payment.reference)
    assert counts(svc) == before


# ---------------------------------------------------------------- which rule failed


def test_evaluation_names_each_failed_rule_with_its_numbers(svc, clock, make_customer, make_merchant):
    campaign(svc, "JAJAN10", rules={"merchant_categories": ["food"], "min_amount": 25_000})
    campaign(svc, "RIDE5", flat_amount=5_000, rules={"merchant_categories": ["ride"]})
    campaign(svc, "PLUS20", rules={"tiers": ["plus"]})
    campaign(svc, "NEWBIE", rules={"new_customer_days": 30})
    campaign(svc, "QRONLY", rules={"channels": ["qr"]})
    customer = make_customer(balance=100_000)
    clock.advance(days=40)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 20_000, "p-1", channel="online",
                                      via_provider=False)

    evaluation = svc.promotions.evaluate(customer, payment.reference)

    assert evaluation.best() is None
    assert failed_rules(evaluation, "JAJAN10") == {"min_amount": {"required": 25_000, "actual": 20_000}}
    assert failed_rules(evaluation, "RIDE5") == {"merchant_categories": {"allowed": ["ride"], "actual": "food"}}
    assert failed_rules(evaluation, "PLUS20") == {"tiers": {"allowed": ["plus"], "actual": "basic"}}
    assert failed_rules(evaluation, "NEWBIE")["new_customer_days"]["age_days"] == 40
    assert failed_rules(evaluation, "QRONLY") == {"channels": {"allowed": ["qr"], "actual": "online"}}
    assert evaluation.closest(1)[0].campaign.code in {"JAJAN10", "RIDE5", "PLUS20", "NEWBIE", "QRONLY"}


def test_per_day_and_per_customer_quotas(svc, clock, make_customer, make_merchant):
    campaign(svc, "DAILY", flat_amount=1_000, rules={"max_per_customer_per_day": 1, "max_per_customer": 2})
    customer, merchant = make_customer(balance=500_000), make_merchant()
    refs = []
    for n in range(4):
        refs.append(svc.wallet.pay_merchant(customer, merchant, 10_000, f"p-{n}").reference)
        svc.promotions.award(customer, refs[-1])
        if n in (1, 2):
            clock.advance(days=1)

    decisions = [svc.promotions.decision(r).status for r in refs]
    assert decisions == ["credited", "none", "credited", "none"]
    assert failed_rules(svc.promotions.evaluate(customer, refs[1]), "DAILY") == {
        "max_per_customer_per_day": {"limit": 1, "used": 1, "day": (START + timedelta(hours=7)).date()}}
    assert failed_rules(svc.promotions.evaluate(customer, refs[3]), "DAILY") == {
        "max_per_customer": {"limit": 2, "used": 2}}
    # A rewarded payment judged again does not count against itself.
    assert svc.promotions.evaluate(customer, refs[0]).best().campaign.code == "DAILY"


def test_a_campaign_that_ended_before_the_payment_says_when(svc, clock, make_customer, make_merchant):
    campaign(svc, "OLD", starts=START - timedelta(days=10), ends=START - timedelta(days=2))
    customer = make_customer(balance=100_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 30_000, "p-1")

    facts = failed_rules(svc.promotions.evaluate(customer, payment.reference), "OLD")["period"]

    assert facts["ends_at"] == START - timedelta(days=2) and facts["payment_at"] == START
    assert svc.promotions.award(customer, payment.reference).status == "none"


# ---------------------------------------------------------------- later credit, refunds, budget


def test_delayed_cashback_is_credited_when_due_and_a_refund_cancels_it(svc, clock, make_customer, make_merchant):
    campaign(svc, percent=10, credit_delay_hours=24)
    customer, merchant = make_customer(balance=500_000), make_merchant()
    kept = svc.wallet.pay_merchant(customer, merchant, 50_000, "p-kept")
    refunded = svc.wallet.pay_merchant(customer, merchant, 80_000, "p-refunded")
    for ref in (kept.reference, refunded.reference):
        assert svc.promotions.award(customer, ref).status == "scheduled"
    assert svc.promotions.get("JAJAN10").granted_total == 13_000

    assert svc.promotions.credit_due() == 0  # not yet due
    svc.wallet.refund(refunded.reference, 80_000, "r-1", reason="order cancelled")
    clock.advance(hours=24)
    assert svc.promotions.credit_due() == 2

    assert svc.promotions.decision(kept.reference).status == "credited"
    cancelled = svc.promotions.decision(refunded.reference)
    assert (cancelled.status, cancelled.failure_reason) == ("cancelled", "PAYMENT_REFUNDED")
    assert svc.promotions.get("JAJAN10").granted_total == 5_000
    assert svc.wallet.summary(customer).balance == 500_000 - 50_000 + 5_000
    assert svc.promotions.credit_due() == 0


def test_a_credit_the_wallet_refuses_is_recorded_and_returns_the_budget(svc, make_customer, make_merchant):
    campaign(svc, flat_amount=20_000, budget=100_000)
    customer = make_customer(balance=1_990_000)  # basic cap is Rp2.000.000
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 20_000, "p-1")
    svc.wallet.topup(customer, 25_000, "card", "t-2")

    decision = svc.promotions.award(customer, payment.reference)

    assert (decision.status, decision.failure_reason) == ("failed", "BALANCE_CAP_EXCEEDED")
    assert svc.promotions.get("JAJAN10").granted_total == 0
    assert svc.wallet.summary(customer).balance == 1_995_000


def test_the_last_of_a_budget_goes_to_one_payment_only(svc, make_customer, make_merchant):
    campaign(svc, flat_amount=5_000, budget=5_000)
    merchant = make_merchant()
    payers = [make_customer(balance=50_000) for _ in range(2)]
    refs = [svc.wallet.pay_merchant(c, merchant, 20_000, f"p-{c}").reference for c in payers]

    results = race(*[lambda c=c, r=r: svc.promotions.award(c, r) for c, r in zip(payers, refs, strict=True)])

    assert sorted(d.status for d in results) == ["credited", "none"]
    assert svc.promotions.get("JAJAN10").granted_total == 5_000
    assert sum(svc.wallet.summary(c).balance for c in payers) == 2 * 30_000 + 5_000
    assert verify(svc.db).ok


def test_racing_awards_of_one_payment_credit_once(svc, make_customer, make_merchant):
    campaign(svc, flat_amount=5_000)
    customer = make_customer(balance=50_000)
    ref = svc.wallet.pay_merchant(customer, make_merchant(), 20_000, "p-1").reference

    results = race(*[lambda: svc.promotions.award(customer, ref) for _ in range(3)])

    assert {d.status for d in results} <= {"scheduled", "credited"}
    svc.promotions.credit_due()
    assert svc.promotions.decision(ref).status == "credited"
    assert svc.wallet.summary(customer).balance == 35_000
    assert svc.promotions.get("JAJAN10").granted_total == 5_000


# ---------------------------------------------------------------- how payments reach the engine


def test_a_pin_payment_is_awarded_by_the_job(svc, make_customer, make_merchant):
    campaign(svc, flat_amount=2_500)
    customer = make_customer(balance=100_000)

    payment = svc.payments.pay(customer, make_merchant(), 40_000, PIN, "pay-1")

    assert svc.promotions.decision(payment.reference).status == "credited"
    assert svc.wallet.summary(customer).balance == 62_500


def test_the_sweep_decides_payments_nobody_decided(svc, clock, make_customer, make_merchant):
    campaign(svc, flat_amount=1_000)
    customer, merchant = make_customer(balance=100_000), make_merchant()
    refs = [svc.wallet.pay_merchant(customer, merchant, 10_000, f"p-{n}").reference for n in range(3)]
    svc.promotions.award(customer, refs[0])

    assert svc.promotions.sweep() == {"decided": 0, "credited": 0}  # younger than a minute: next run
    clock.advance(minutes=2)
    assert svc.promotions.sweep() == {"decided": 2, "credited": 0}
    assert svc.promotions.sweep() == {"decided": 0, "credited": 0}
    assert [svc.promotions.decision(r).status for r in refs] == ["credited"] * 3


def test_the_sweep_reads_past_decided_payments_batch_by_batch(svc, clock, make_customer, make_merchant):
    customer, merchant = make_customer(balance=500_000), make_merchant()
    refs = []
    for n in range(7):
        refs.append(svc.wallet.pay_merchant(customer, merchant, 1_000, f"p-{n}").reference)
        clock.advance(seconds=1)
    for ref in refs[:4]:  # decided by their jobs
        svc.promotions.award(customer, ref)
    clock.advance(minutes=2)

    runs = [svc.promotions.sweep(batch=2, batches=1)["decided"] for _ in range(5)]

    assert runs == [0, 0, 2, 1, 0]
    assert all(svc.promotions.decision(r) is not None for r in refs)


# ---------------------------------------------------------------- offers


def test_offers_are_the_campaigns_this_customer_can_still_earn(svc, clock, make_customer):
    campaign(svc, "EVERYONE", rules={"max_per_customer": 3})
    campaign(svc, "PLUSONLY", rules={"tiers": ["plus"]})
    campaign(svc, "LATER", starts=START + timedelta(days=3))
    campaign(svc, "PAUSED")
    svc.promotions.set_status("PAUSED", "paused", actor=ADMIN)
    basic, plus = make_customer(), make_customer(tier="plus")

    assert [(o.campaign.code, o.uses_left) for o in svc.promotions.offers(basic)] == [("EVERYONE", 3)]
    assert {o.campaign.code for o in svc.promotions.offers(plus)} == {"EVERYONE", "PLUSONLY"}
