"""The named demo customers: one for each situation support must handle.

They are created through the real services, with a clock that travels back in time, so their
histories, limits and audit trails are exactly what the live system would have produced.
Every demo customer's password is DEMO_PASSWORD and PIN is DEMO_PIN (demo data only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..container import Services, build
from ..identity.service import DeviceInfo
from ..platform.audit import Actor
from ..platform.clock import FakeClock
from ..platform.errors import DomainError
from ..wallet.rules import FailureReason, Periods

DEMO_PASSWORD = "GoPay2026!"
DEMO_PIN = "147258"
DEMO_AGENT_PASSWORD = "demo-password"

MERCHANTS = [
    ("Warung Nasi Padang Sederhana", "food"), ("Bakso Pak Kumis", "food"), ("Kopi Senja", "food"),
    ("Martabak Bangka 88", "food"), ("GoFood", "food"), ("GoRide", "ride"), ("GoCar", "ride"),
    ("Pulsa Telkomsel", "pulsa"), ("Token PLN", "pulsa"), ("TokoMurah Online", "ecommerce"),
    ("Bukaloka", "ecommerce"), ("Sate Madura Cak Man", "food"),
]


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    phone: str
    email: str
    language: str
    tier: str
    id_number: str


PEOPLE = [
    Person("wang", "王小明", "+6281234567890", "wang.xiaoming@example.com", "zh-CN", "basic", "3171012345670001"),
    Person("siti", "Siti Rahayu", "+6281298765432", "siti.rahayu@example.com", "id", "basic", "3273014505900002"),
    Person("john", "John Tan", "+6281311112222", "john.tan@example.com", "en", "plus", "3174011203850003"),
    Person("lina", "李娜", "+6281355556666", "li.na@example.com", "zh-CN", "basic", "3171026708920004"),
    Person("budi", "Budi Santoso", "+6281377778888", "budi.santoso@example.com", "id", "plus", "3578011508880005"),
    Person("dewi", "Dewi Lestari", "+6281399990000", "dewi.lestari@example.com", "id", "basic", "3273026211950006"),
    Person("ahmad", "Ahmad Fauzi", "+6281244443333", "ahmad.fauzi@example.com", "id", "plus", "3175030101870007"),
    Person("chen", "陈美玲", "+6281266667777", "chen.meiling@example.com", "zh-CN", "plus", "3171035512900008"),
    Person("rina", "Rina Wijaya", "+6281288889999", "rina.wijaya@example.com", "id", "basic", "3273040303930009"),
    Person("zhang", "张伟", "+6281222223333", "zhang.wei@example.com", "zh-CN", "basic", "3171040909910010"),
]

# code, titles, start and end (days after the story begins, 40 days ago), reward, rules
CAMPAIGNS = [
    ("JAJAN10", {"zh-CN": "美食返现", "en": "Food cashback", "id": "Cashback kuliner"}, 0, 70,
     {"percent": 10, "max_cashback": 10_000},
     {"merchant_categories": ["food"], "channels": ["qr"], "min_amount": 50_000, "max_per_customer_per_day": 1}),
    ("GORIDE3", {"zh-CN": "出行立减", "en": "Ride saver", "id": "Hemat GoRide"}, 33, 60,
     {"flat_amount": 3_000, "budget": 50_000_000}, {"merchant_categories": ["ride"], "max_per_customer_per_day": 2}),
    ("PLUSFOOD", {"zh-CN": "Plus会员美食专享", "en": "Plus food treat", "id": "Spesial Plus kuliner"}, 0, 60,
     {"percent": 5, "max_cashback": 25_000, "credit_delay_hours": 24},
     {"tiers": ["plus"], "merchant_categories": ["food"], "min_amount": 100_000}),
    ("HARBOLNAS", {"zh-CN": "购物节返现", "en": "Shopping festival", "id": "Harbolnas"}, 0, 20,
     {"percent": 15, "max_cashback": 50_000}, {"merchant_categories": ["ecommerce"]}),
]

AGENTS = [("agent@gopay.test", "agent", "Ayu (Agent)"), ("supervisor@gopay.test", "supervisor", "Hendra (Supervisor)"),
          ("admin@gopay.test", "admin", "Admin")]


class _Story:
    def __init__(self, live: Services, now: datetime) -> None:
        self.now = now
        self.clock = FakeClock(now)
        # Same database and settings, our own clock; jobs run inline (messages are held).
        self.svc = build(live.settings, clock=self.clock, immediate_jobs=True, senders={})
        self.svc.wallet.bootstrap()
        self.keys = 0
        self.ids: dict[str, int] = {}
        self.merchants: dict[str, int] = {}

    def at(self, **ago: float) -> None:
        self.clock.set(self.now - timedelta(**ago))

    def today(self, fraction: float) -> None:
        """A moment today (local time), `fraction` of the way from midnight to now, so "today"
        stays today whenever the demo is seeded."""
        periods = Periods.at(self.now, self.svc.settings.tz)
        midnight = periods.day_resets_at - timedelta(days=1)
        self.clock.set(midnight + (self.now - midnight) * fraction)

    def key(self, who: str) -> str:
        self.keys += 1
        return f"demo-{who}-{self.keys}"

    def pay(self, who: str, merchant: str, amount: int, **kw: object) -> str:
        payment = self.svc.wallet.pay_merchant(self.ids[who], self.merchants[merchant], amount, self.key(who),
                                               **kw)  # type: ignore[arg-type]
        if payment.status == "succeeded":  # what the award job does after a live payment
            self.svc.promotions.award(self.ids[who], payment.reference)
        return payment.reference

    def campaigns(self) -> None:
        """The running cashback campaigns (and one that ended), with rules the story's payments meet
        or miss: everyone's Rp32.000 coffee last month is under JAJAN10's minimum."""
        start, admin = self.now - timedelta(days=40), Actor.system()
        for code, titles, begins, ends, reward, rules in CAMPAIGNS:
            self.svc.promotions.create(code, titles, start + timedelta(days=begins), start + timedelta(days=ends),
                                       rules=rules, actor=admin, **reward)

    def topup(self, who: str, amount: int, method: str = "bank_transfer", **kw: object) -> str:
        return self.svc.wallet.topup(self.ids[who], amount, method, self.key(who), **kw).reference  # type: ignore[arg-type]

    def run(self) -> None:
        w, svc = self.svc.wallet, self.svc
        self.at(days=40)
        for name, category in MERCHANTS:
            self.merchants[name] = w.add_merchant(name, category)
        w.set_merchant_status(self.merchants["Sate Madura Cak Man"], "unavailable")
        self.campaigns()
        for email, role, name in AGENTS:
            svc.agents.create(email, role, name=name, password=DEMO_AGENT_PASSWORD)
        for p in PEOPLE:
            self.ids[p.key] = svc.identity.register(
                phone=p.phone, name=p.name, email=p.email, id_number=p.id_number, password=DEMO_PASSWORD,
                pin=DEMO_PIN, language=p.language, tier=p.tier).id

        # A quiet, ordinary history for everyone, mostly last month.
        for i, p in enumerate(PEOPLE):
            if p.key == "ahmad":
                continue
            self.at(days=30 - i)
            self.topup(p.key, 500_000, "card")
            self.at(days=29 - i, hours=3)
            self.pay(p.key, "GoRide", 18_000 + 1_000 * i)
            self.pay(p.key, "Kopi Senja", 32_000)

        # 王小明: today's payment failed, short of balance.
        self.today(0.1)
        self.pay("wang", "TokoMurah Online", 400_000)
        self.today(0.8)
        self.pay("wang", "Bukaloka", 150_000, channel="online")  # INSUFFICIENT_BALANCE

        # Siti: today's outgoing limit (basic: Rp 2.000.000) reached.
        self.today(0.1)
        self.topup("siti", 1_500_000)
        self.today(0.2)
        self.pay("siti", "Bukaloka", 1_450_000)
        self.today(0.3)
        self.topup("siti", 600_000)
        self.today(0.9)
        self.pay("siti", "TokoMurah Online", 800_000)  # DAILY_LIMIT_EXCEEDED

        # John: an online payment pending too long; a debited payment the provider failed (not yet
        # reversed); an older one that failed and was reversed.
        self.at(days=3)
        ref = self.pay("john", "GoFood", 85_000, channel="online", via_provider=True)
        w.complete(ref, succeeded=False, failure_reason=FailureReason.PROVIDER_TIMEOUT)
        self.at(days=3, minutes=-20)
        w.reverse(ref, self.key("john"), actor=Actor.system(), reason="debited for a failed payment (provider timeout)")
        self.at(days=1)
        ref = self.pay("john", "Bukaloka", 120_000, channel="online", via_provider=True)
        self.at(days=1, minutes=-10)
        w.complete(ref, succeeded=False, failure_reason=FailureReason.PROVIDER_TIMEOUT)
        self.at(hours=2)
        self.pay("john", "GoFood", 64_000, channel="online", via_provider=True)  # pending too long

        # 李娜: five wrong passwords in a row locked the account.
        self.at(hours=2)
        for _ in range(svc.settings.max_failed_logins):
            try:
                svc.identity.login_with_password(PEOPLE[3].phone, "gopay2026!", DeviceInfo("lina-phone", "android"))
            except DomainError:
                pass

        # Budi: reported his phone stolen; the freeze now blocks every payment.
        self.at(hours=8)
        svc.identity.freeze(self.ids["budi"], actor=Actor.customer(self.ids["budi"]), reason="phone stolen")
        self.at(hours=7)
        self.pay("budi", "Pulsa Telkomsel", 100_000)  # ACCOUNT_FROZEN

        # Dewi: a top-up that would pass the basic balance cap of Rp 2.000.000.
        self.at(days=2)
        self.topup("dewi", 1_400_000)
        self.at(days=1)
        self.topup("dewi", 500_000)  # BALANCE_CAP_EXCEEDED

        # Ahmad (Plus): today he has brought in Rp 39.000.000 of this month's Rp 40.000.000.
        self.today(0.1)
        self.topup("ahmad", 19_500_000)
        self.today(0.2)
        self.pay("ahmad", "Bukaloka", 9_900_000)
        self.today(0.3)
        w.withdraw(self.ids["ahmad"], 9_500_000, "BNI 0987654321", self.key("ahmad"))
        self.today(0.4)
        self.topup("ahmad", 19_500_000)
        self.today(0.9)
        self.topup("ahmad", 1_500_000)  # MONTHLY_LIMIT_EXCEEDED

        # 陈美玲 (Plus): refunds, cashback, a wrong PIN, a risk decline, a closed merchant, withdrawals.
        self.at(days=6)
        self.topup("chen", 5_000_000, "card")
        self.at(days=5)
        full = self.pay("chen", "TokoMurah Online", 250_000)
        partial = self.pay("chen", "Bukaloka", 480_000)
        self.pay("chen", "Martabak Bangka 88", 95_000)  # JAJAN10 cashback: 10% = Rp9.500
        self.at(days=4)
        w.refund(full, 250_000, self.key("chen"), reason="item never arrived")
        w.refund(partial, 180_000, self.key("chen"), reason="one item missing")
        self.at(days=2)
        svc.payments.pay(self.ids["chen"], self.merchants["GoFood"], 75_000, "000111", self.key("chen"))  # PIN_INVALID
        self.pay("chen", "Bukaloka", 12_000_000)  # RISK_DECLINED
        self.pay("chen", "Sate Madura Cak Man", 45_000)  # MERCHANT_UNAVAILABLE
        self.at(days=1)
        ref = w.withdraw(self.ids["chen"], 1_000_000, "BCA 1234567890", self.key("chen")).reference
        w.complete(ref, succeeded=True)
        self.at(hours=3)
        w.withdraw(self.ids["chen"], 500_000, "BCA 1234567890", self.key("chen"))  # pending
        w.transfer(self.ids["chen"], self.ids["wang"], 50_000, self.key("chen"))

        # Rina: a bank-transfer top-up that has not arrived for hours.
        self.at(hours=3)
        self.topup("rina", 300_000, "bank_transfer", pending=True)

        # 张伟 (basic): tried to send money to a friend; transfers need GoPay Plus.
        self.at(hours=1)
        w.transfer(self.ids["zhang"], self.ids["wang"], 100_000, self.key("zhang"))  # KYC_UPGRADE_REQUIRED

        # Their conversations with support, on several channels.
        from .desk_story import seed_desk_story

        seed_desk_story(self.svc, self.clock, self.now)
        # Kadek Wirawan's refund requests in each state, and TokoMurah Online's merchant API key.
        from .refund_story import seed_refund_story

        self.ids["kadek"] = seed_refund_story(self.svc, self.clock, self.now, self.merchants, DEMO_PASSWORD, DEMO_PIN)
        self.svc.close()


def seed_story(services: Services, now: datetime) -> dict[str, int]:
    story = _Story(services, now)
    story.run()
    return story.ids
