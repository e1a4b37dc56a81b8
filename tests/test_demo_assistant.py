"""Every named demo customer asks the assistant about their own situation, in their own language,
on the demo story seeded through the real services: the answer names the exact facts (amounts,
limits, reset times), fixes what it safely can, and hands over only when a person is needed."""

from __future__ import annotations

import pytest

from gopaycare.demo.story import PEOPLE, seed_story
from tests.helpers import joined, say

PEOPLE_BY_KEY = {p.key: p for p in PEOPLE}

# who, what they write in each language, the intent, facts the answer must state, handed over?
CASES = [
    ("wang", {"zh-CN": "我的付款失败了", "en": "my payment didn't go through", "id": "pembayaran saya gagal"},
     "txn_payment_failed", ["Bukaloka", "Rp150.000", "Rp50.000", "Rp100.000"], False),
    ("siti", {"zh-CN": "付款总是失败", "en": "my payment keeps getting declined", "id": "pembayaran saya gagal terus"},
     "txn_payment_failed", ["Rp800.000", "Rp2.000.000", "Rp1.450.000", "Rp550.000", "00:00"], False),
    ("john", {"zh-CN": "我GoFood的付款一直在处理中，钱已经扣了",
              "en": "my GoFood payment is still processing and the money is gone",
              "id": "bayar GoFood masih diproses terus padahal saldo udah kepotong"},
     "txn_not_received", ["Rp64.000"], True),
    ("lina", {"zh-CN": "我的账户被锁定了", "en": "my account is locked", "id": "akun saya terkunci"},
     "account_locked", ["5"], False),
    ("budi", {"zh-CN": "我付款失败了", "en": "my payment failed", "id": "pembayaran saya gagal"},
     "txn_payment_failed", ["Rp100.000"], True),
    ("dewi", {"zh-CN": "为什么我充值失败了", "en": "why did my top up fail", "id": "kenapa isi saldo saya gagal ya"},
     "txn_topup", ["Rp500.000", "Rp2.000.000", "Rp1.845.000", "Rp155.000"], False),
    ("ahmad", {"zh-CN": "我的充值被拒绝了", "en": "my top-up was rejected", "id": "top up saya kok ditolak"},
     "txn_topup", ["Rp1.500.000", "Rp40.000.000", "Rp39.000.000", "Rp1.000.000"], False),
    ("chen", {"zh-CN": "我95000元那笔付款的返现没到账", "en": "I didn't get cashback on my Rp95.000 payment",
              "id": "cashback transaksi Rp95.000 saya belum masuk"},
     "promo_cashback_missing", ["Rp95.000", "Martabak Bangka 88", "Rp9.500"], False),
    ("rina", {"zh-CN": "我充值的钱还没到账", "en": "my top up hasn't arrived", "id": "top up saya belum masuk"},
     "txn_not_received", ["Rp300.000"], True),
    ("zhang", {"zh-CN": "我给朋友转账失败了", "en": "my transfer to a friend failed",
               "id": "transfer ke teman saya gagal"},
     "txn_payment_failed", ["Rp100.000", "GoPay Plus"], False),
]
# The same customers on the other procedures (refund, app fault, promotions, security alert), asked
# in a second conversation each (another channel), so the cases above are not disturbed.
MORE_CASES = [
    ("chen", {"zh-CN": "我想申请退款", "en": "I want a refund for an order", "id": "saya mau ajukan refund"},
     "refund_apply", ["Martabak Bangka 88", "Rp95.000", "Bukaloka", "Rp480.000", "Rp300.000"], False),
    ("wang", {"zh-CN": "App一直闪退", "en": "the app keeps crashing", "id": "aplikasinya keluar sendiri terus"},
     "tech_app_crash", [], False),
    ("siti", {"zh-CN": "现在有什么优惠活动", "en": "any promos right now?", "id": "ada promo apa sekarang"},
     "promo_current", ["GORIDE3", "JAJAN10", "Rp50.000"], False),
    ("dewi", {"zh-CN": "我的账户好像被盗了", "en": "someone else logged into my account",
              "id": "akun saya dibobol orang"},
     "account_security_alert", [], False),
]


@pytest.fixture
def demo(svc, clock):
    seed_story(svc, clock.now())
    return svc


@pytest.mark.parametrize("lang", ["zh-CN", "en", "id"])
def test_each_demo_customer_gets_their_own_facts(demo, bot, lang):
    wrong = []
    for channel, cases in (("whatsapp", CASES), ("chat", MORE_CASES)):
        wrong += _walk(bot, cases, lang, channel)
    assert wrong == []


def _walk(bot, cases, lang, channel):
    wrong = []
    for who, texts, intent, facts, handed_off in cases:
        answer = say(bot, PEOPLE_BY_KEY[who].phone, texts[lang], lang, channel=channel)
        reply = joined(answer)
        missing = [f for f in facts if f not in reply]
        if answer.intent != intent or missing or answer.handed_off is not handed_off:
            wrong.append(f"{who}: intent {answer.intent}, missing {missing}, handed off {answer.handed_off}: {reply}")
    return wrong


def test_a_failed_provider_payment_is_given_back_once(demo, bot):
    john = PEOPLE_BY_KEY["john"]
    customer = demo.identity.find_by_login(john.phone).id
    before = demo.wallet.summary(customer).balance

    first = joined(say(bot, john.phone, "my payment failed", "en"))
    again = joined(say(bot, john.phone, "my payment failed", "en"))

    assert "Rp120.000" in first and "Bukaloka" in first and "given it back" in first
    assert "given it back" not in again
    assert demo.wallet.summary(customer).balance == before + 120_000

