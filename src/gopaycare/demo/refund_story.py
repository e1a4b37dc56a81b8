"""The refunds part of the demo: a merchant with an API key (its login to the merchant API) and refund
requests in each state, all of one customer (Kadek Wirawan), so the other demo accounts' stories stay
as they are. Everything goes through the refund service, as a live request would."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..container import Services
from ..platform.clock import FakeClock

MERCHANT_KEY = "gpm_demo_TokoMurahOnline_2026"  # TokoMurah Online's key to /api/v1/merchant/refunds
CUSTOMER = ("Kadek Wirawan", "+6281233334444", "kadek.wirawan@example.com", "id", "3171015505900011")


def seed_refund_story(svc: Services, clock: FakeClock, now: datetime, merchants: dict[str, int],
                      password: str, pin: str) -> int:
    name, phone, email, language, id_number = CUSTOMER
    kadek = svc.identity.register(phone=phone, name=name, email=email, id_number=id_number, password=password,
                                  pin=pin, language=language, tier="plus").id
    shop, other = merchants["TokoMurah Online"], merchants["Bukaloka"]
    svc.merchant_keys.create(shop, label="demo merchant login", key=MERCHANT_KEY)
    lead = svc.agents.get_by_email("supervisor@gopay.test")
    maker = svc.agents.get_by_email("li.hua@gopay.test")
    keys = iter(range(1, 100))

    def at(days: float) -> None:
        clock.set(now - timedelta(days=days))

    def request(merchant: int, amount: int, reason_code: str, reason: str) -> int:
        n = next(keys)
        payment = svc.wallet.pay_merchant(kadek, merchant, amount, f"demo-kadek-pay-{n}")
        return svc.refunds.submit(kadek, payment.reference, reason_code=reason_code, reason=reason,
                                  idempotency_key=f"demo-kadek-refund-{n}").id

    at(10)
    svc.wallet.topup(kadek, 6_000_000, "bank_transfer", "demo-kadek-topup")
    # refunded at once: a small duplicate charge (the small-amount rule)
    at(9)
    request(shop, 35_000, "duplicate_charge", "charged twice for one order")
    # under review, proposed by li.hua, waiting for a checker: the merchant never answered
    at(8)
    waiting = request(shop, 850_000, "goods_not_received", "paket tidak pernah sampai")
    # rejected by GoPay after the merchant declined
    at(7)
    rejected = request(other, 450_000, "goods_not_received", "barang tidak sampai")
    svc.refunds.merchant_decline(other, rejected, reason="delivered and signed for by the customer")
    svc.refunds.reject(lead.id, rejected, reason="courier's signed proof of delivery",
                       rejection_code="merchant_delivered")
    # cancelled by the customer
    at(6)
    cancelled = request(shop, 120_000, "wrong_amount", "salah nominal")
    svc.refunds.cancel(kadek, cancelled)
    # refunded after the merchant confirmed the cancellation
    at(5)
    confirmed = request(shop, 275_000, "order_cancelled", "pesanan dibatalkan penjual")
    svc.refunds.merchant_accept(shop, confirmed, reason="order cancelled, out of stock")
    # under review after the merchant declined
    at(2)
    declined = request(shop, 300_000, "wrong_amount", "ditagih 300.000, harga 150.000")
    svc.refunds.merchant_decline(shop, declined, reason="the price was 300.000")
    # waiting for the merchant (due in a few days): TokoMurah Online answers it with the demo key
    at(1)
    request(shop, 640_000, "goods_not_received", "sepatu belum datang")
    # the merchant's silence: past its days, the sweep sends the waiting one to review
    clock.set(now)
    svc.refunds.sweep()
    svc.refunds.propose(maker.id, waiting, reason="no tracking number from the merchant")
    seed_dispute_story(svc, clock, now, kadek, shop, lead.id)
    return kadek


def seed_dispute_story(svc: Services, clock: FakeClock, now: datetime, kadek: int, shop: int, agent: int) -> None:
    """Kadek's disputes with TokoMurah Online in each state (DP1 won ... DP5 needs a response), through
    the disputes service as the assistant or the app would open them."""
    def case(days: float, n: int, amount: int, reason: str, words: str) -> int:
        clock.set(now - timedelta(days=days))
        payment = svc.wallet.pay_merchant(kadek, shop, amount, f"demo-kadek-dispute-pay-{n}")
        return svc.disputes.open(kadek, payment.reference, reason=reason, description=words,
                                 idempotency_key=f"demo-kadek-dispute-{n}").id

    won = case(9, 1, 150_000, "not_delivered", "tas belum datang, kurir bilang alamat tidak ditemukan")
    svc.disputes.review(won, agent_id=agent, reason="the merchant did not answer by its due date")
    svc.disputes.decide(won, agent_id=agent, outcome="won", reason="no proof of delivery from the merchant")
    lost = case(8, 2, 90_000, "not_as_described", "warna kaos beda dengan foto")
    svc.disputes.record_response(lost, agent_id=agent, body="The photo shows the same colour; the listing says so")
    svc.disputes.decide(lost, agent_id=agent, outcome="lost", reason="the item matches the listing's description")
    withdrawn = case(6, 3, 60_000, "not_as_described", "ukuran salah")
    svc.disputes.withdraw(kadek, withdrawn)
    review = case(5, 4, 220_000, "not_as_described", "sepatu rusak saat diterima")
    svc.disputes.record_response(review, agent_id=agent, body="Shipped in perfect condition, see packing photo")
    case(2, 5, 180_000, "not_delivered", "jaket belum sampai")
    clock.set(now)
