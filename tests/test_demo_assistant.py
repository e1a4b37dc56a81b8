"""Every named demo customer asks the assistant about their own situation, in their own language,
on the demo story seeded through the real services: the answer names the exact facts (amounts,
limits, reset times), fixes what it safely can, and hands over only when a person is needed."""

from __future__ import annotations

import pytest

from gopaycare.demo.story import PEOPLE, seed_story
from tests.helpers import joined, say

PEOPLE_BY_KEY = {p.key: p for p in PEOPLE}

# who, what they write, the intent, facts the answer must state, handed over?
CASES = [
    ("wang", "我的付款失败了", "txn_payment_failed", ["Bukaloka", "Rp150.000", "余额Rp50.000", "还差Rp100.000"], False),
    ("siti", "pembayaran saya gagal terus", "txn_payment_failed",
     ["Rp800.000", "batas harian Rp2.000.000", "terpakai Rp1.450.000", "sisa Rp550.000", "26 Nov 00:00 WIB"], False),
    ("john", "my GoFood payment is still processing and the money is gone", "txn_not_received",
     ["Rp64.000", "investigation ticket"], True),
    ("lina", "我的账户被锁定了", "account_locked", ["连续输错5次", "姓名"], False),
    ("budi", "pembayaran saya gagal", "txn_payment_failed", ["Rp100.000", "dibekukan"], True),
    ("dewi", "kenapa isi saldo saya gagal ya", "txn_topup",
     ["Top-up Rp500.000", "batas saldo Rp2.000.000", "saldo Anda saat itu Rp1.845.000", "maksimal Rp155.000"], False),
    ("ahmad", "top up saya kok ditolak", "txn_topup",
     ["Top-up Rp1.500.000", "bulanan Rp40.000.000", "terpakai Rp39.000.000", "sisa Rp1.000.000", "1 Des 00:00 WIB"],
     False),
    ("chen", "我95000元那笔付款的返现没到账", "promo_cashback_missing",
     ["Rp95.000", "Martabak Bangka 88", "美食返现", "Rp9.500"], False),
    ("rina", "top up saya belum masuk", "txn_not_received", ["Top-up Rp300.000", "tiket investigasi"], True),
    ("zhang", "我给朋友转账失败了", "txn_payment_failed", ["Rp100.000", "GoPay Plus"], False),
]


@pytest.fixture
def demo(svc, clock):
    seed_story(svc, clock.now())
    return svc


@pytest.mark.parametrize("who,text,intent,facts,handed_off", CASES, ids=[c[0] for c in CASES])
def test_each_demo_customer_gets_their_own_facts(demo, bot, who, text, intent, facts, handed_off):
    person = PEOPLE_BY_KEY[who]

    answer = say(bot, person.phone, text, person.language)

    reply = joined(answer)
    assert answer.intent == intent, reply
    assert [f for f in facts if f not in reply] == [], reply
    assert answer.handed_off is handed_off


def test_a_failed_provider_payment_is_given_back_once(demo, bot):
    john = PEOPLE_BY_KEY["john"]
    customer = demo.identity.find_by_login(john.phone).id
    before = demo.wallet.summary(customer).balance

    first = joined(say(bot, john.phone, "my payment failed", "en"))
    again = joined(say(bot, john.phone, "my payment failed", "en"))

    assert "Rp120.000" in first and "Bukaloka" in first and "given it back" in first
    assert "given it back" not in again
    assert demo.wallet.summary(customer).balance == before + 120_000
