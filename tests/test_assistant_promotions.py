"""The assistant on promotions, end to end (real NLU, wallet, promotions engine, desk conversations):
the campaigns open to a customer, and a missing cashback explained by the rule that failed, in
zh-CN, en and id, with the numbers checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gopaycare.desk.models import Conversation
from gopaycare.platform.audit import Actor
from tests.conftest import PIN, START
from tests.helpers import api_client, joined, say

LANGS = ["zh-CN", "en", "id"]
MISSING = {"zh-CN": "我的返现没到账", "en": "I didn't get my cashback", "id": "cashback saya belum masuk"}
CURRENT = {"zh-CN": "现在有什么优惠活动", "en": "what promos are running now", "id": "ada promo apa sekarang"}
TITLES = {"zh-CN": "美食返现", "en": "Food cashback", "id": "Cashback kuliner"}


def food_campaign(svc, **kw):
    kw.setdefault("rules", {"merchant_categories": ["food"], "min_amount": 25_000})
    return svc.promotions.create("JAJAN10", TITLES, START - timedelta(days=1), START + timedelta(days=30),
                                 percent=10, max_cashback=10_000, actor=Actor.agent(1), **kw)


@pytest.mark.parametrize("lang", LANGS)
def test_missing_cashback_says_which_rule_failed_with_the_numbers(svc, bot, make_customer, make_merchant, lang):
    phone = "+6281234500001"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=100_000)
    payment = svc.payments.pay(customer, make_merchant("Bakmi GM", "food"), 20_000, PIN, "pay-1")

    answer = say(bot, phone, MISSING[lang], lang)

    text = joined(answer)
    assert answer.intent == "promo_cashback_missing"
    assert payment.reference in text and TITLES[lang] in text and "JAJAN10" in text
    assert "Rp25.000" in text and "Rp20.000" in text
    assert not answer.handed_off
    assert svc.wallet.summary(customer).balance == 80_000

    agent = say(bot, phone, {"zh-CN": "好的", "en": "yes", "id": "iya"}[lang], lang)
    assert agent.handed_off


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_category_is_named(svc, bot, make_customer, make_merchant, lang):
    phone = "+6281234500002"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=100_000)
    svc.payments.pay(customer, make_merchant("GoRide", "ride"), 30_000, PIN, "pay-1")

    text = joined(say(bot, phone, MISSING[lang], lang))

    assert {"zh-CN": "只限餐饮商户，这笔是出行商户", "en": "only at food merchants; this one is ride",
            "id": "hanya di merchant makanan, merchant ini transportasi"}[lang] in text


@pytest.mark.parametrize("lang", LANGS)
def test_credited_cashback_is_reported_with_its_reference(svc, bot, make_customer, make_merchant, lang):
    phone = "+6281234500003"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=200_000)
    payment = svc.payments.pay(customer, make_merchant("Bakmi GM", "food"), 150_000, PIN, "pay-1")
    decision = svc.promotions.decision(payment.reference)
    assert (decision.status, decision.amount) == ("credited", 10_000)  # 10% of 150.000 capped at 10.000

    answer = say(bot, phone, MISSING[lang], lang)

    text = joined(answer)
    assert "Rp10.000" in text and decision.cashback_reference in text and payment.reference in text
    assert not answer.handed_off
    with svc.db.read() as s:
        assert s.get(Conversation, answer.conversation_id).contained is True


@pytest.mark.parametrize("lang", LANGS)
def test_a_qualifying_payment_nobody_rewarded_is_credited_once(svc, bot, make_customer, make_merchant, lang):
    phone = "+6281234500004"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=200_000)
    # Paid without the award job (as if the job had been lost).
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 60_000, "p-1")

    first = joined(say(bot, phone, MISSING[lang], lang))
    second = joined(say(bot, phone, MISSING[lang], lang))

    assert "Rp6.000" in first and payment.reference in first
    assert svc.wallet.summary(customer).balance == 200_000 - 60_000 + 6_000
    assert "Rp6.000" in second
    assert svc.promotions.get("JAJAN10").granted_total == 6_000


@pytest.mark.parametrize("lang", LANGS)
def test_scheduled_cashback_says_when_it_arrives(svc, bot, make_customer, make_merchant, lang):
    phone = "+6281234500005"
    food_campaign(svc, credit_delay_hours=24)
    customer = make_customer(phone=phone, balance=200_000)
    svc.payments.pay(customer, make_merchant("Bakmi GM", "food"), 50_000, PIN, "pay-1")

    text = joined(say(bot, phone, MISSING[lang], lang))

    assert "Rp5.000" in text
    assert ("11月26日 10:00" if lang == "zh-CN" else "26 Nov 10:00 WIB") in text  # paid 10:00 WIB + 24 h


@pytest.mark.parametrize("lang", LANGS)
def test_current_promotions_are_the_ones_open_to_this_customer(svc, bot, make_customer, lang):
    phone = "+6281234500006"
    food_campaign(svc)
    svc.promotions.create("PLUSONLY", {"en": "Plus only", "zh-CN": "Plus专享", "id": "Khusus Plus"},
                          START - timedelta(days=1), START + timedelta(days=30), flat_amount=5_000,
                          rules={"tiers": ["plus"]}, actor=Actor.agent(1))
    make_customer(phone=phone)

    answer = say(bot, phone, CURRENT[lang], lang)

    text = joined(answer)
    assert answer.intent == "promo_current"
    assert "JAJAN10" in text and "PLUSONLY" not in text
    assert "10%" in text and "Rp10.000" in text and "Rp25.000" in text


def test_missing_cashback_through_the_channel_api(svc, bot, make_customer, make_merchant):
    phone = "+6281234500007"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=100_000)
    svc.payments.pay(customer, make_merchant("Bakmi GM", "food"), 20_000, PIN, "pay-1")
    svc.agents.create("bridge@gopay.test", "admin", password="Agent-pass1")
    token = svc.agents.create_token("bridge@gopay.test")
    svc._assistant = bot

    with api_client(svc) as client:
        response = client.post("/api/v1/assistant/messages", headers={"Authorization": f"Bearer {token}"}, json={
            "channel": "whatsapp", "identity_kind": "whatsapp", "identity_value": phone,
            "body": "kok cashback saya belum masuk ya", "language": "id"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intent"] == "promo_cashback_missing"
    assert "Rp25.000" in "\n".join(body["replies"]) and "Rp20.000" in "\n".join(body["replies"])


FOLLOW_UP = {"zh-CN": "那我150000元那笔付款的返现呢", "en": "and what about the cashback for my Rp150.000 payment?",
             "id": "kalau cashback transaksi 150rb saya gimana?"}


@pytest.mark.parametrize("lang", LANGS)
def test_asking_about_another_payment_after_an_explanation_starts_afresh(svc, bot, make_customer, make_merchant,
                                                                          lang):
    phone = "+6281234500008"
    food_campaign(svc)
    customer = make_customer(phone=phone, balance=300_000)
    merchant = make_merchant("Bakmi GM", "food")
    rewarded = svc.payments.pay(customer, merchant, 150_000, PIN, "pay-1")
    svc.payments.pay(customer, merchant, 20_000, PIN, "pay-2")

    first = joined(say(bot, phone, MISSING[lang], lang))
    follow_up = say(bot, phone, FOLLOW_UP[lang], lang)

    assert "Rp25.000" in first  # the latest payment without cashback: under the minimum
    assert follow_up.intent == "promo_cashback_missing"
    text = joined(follow_up)
    assert rewarded.reference in text and "Rp10.000" in text
