"""The containment report: what the assistant finished alone, what went to a person, and what the
customer abandoned (never counted as contained)."""

from __future__ import annotations

from datetime import timedelta

from gopaycare.platform.audit import Actor
from gopaycare.platform.errors import DomainError
from tests.helpers import say


def test_containment_counts_each_outcome_and_never_counts_abandonment(svc, bot, clock, client, make_customer,
                                                                       make_merchant):
    merchant = make_merchant()
    answered, frozen, verifying, wants_person = (make_customer(phone=f"+62812000000{n}", balance=10_000)
                                                 for n in range(1, 5))
    svc.wallet.pay_merchant(answered, merchant, 50_000, "p-short")
    svc.identity.freeze(frozen, actor=Actor.customer(frozen), reason="phone stolen")
    svc.wallet.pay_merchant(frozen, merchant, 5_000, "p-frozen")
    for _ in range(svc.settings.max_failed_logins):
        try:
            svc.identity.verify_pin(verifying, "000000")
        except DomainError:  # each wrong PIN is refused; the fifth locks the account
            pass
    say(bot, "+628120000001", "我的付款失败了", "zh-CN")          # explained: contained
    say(bot, "+628120000002", "pembayaran saya gagal", "id")      # frozen: to a person
    say(bot, "+628120000003", "my account is locked", "en")       # asked for her name: still active
    say(bot, "+628120000004", "转人工", "zh-CN")                   # asked for a person
    svc.agents.create("lead@gopay.test", "supervisor", password="Agent-pass1")
    svc.agents.create("ayu@gopay.test", "agent", password="Agent-pass1")
    lead = {"Authorization": f"Bearer {svc.agents.create_token('lead@gopay.test')}"}
    window = {"since": clock.now().isoformat(), "until": (clock.now() + timedelta(hours=1)).isoformat()}

    now = client.get("/api/v1/reports/containment", headers=lead, params=window).json()
    later = client.get("/api/v1/reports/containment", headers=lead, params={
        **window, "until": (clock.now() + timedelta(days=2)).isoformat()}).json()
    denied = client.get("/api/v1/reports/containment", headers={
        "Authorization": f"Bearer {svc.agents.create_token('ayu@gopay.test')}"})

    assert {k: now[k] for k in ("contained", "handed_over", "abandoned", "active", "rate")} == {
        "contained": 1, "handed_over": 2, "abandoned": 0, "active": 1, "rate": round(1 / 3, 4)}
    assert {k: later[k] for k in ("abandoned", "active", "rate")} == {"abandoned": 1, "active": 0, "rate": 0.25}
    assert now["by_channel"] == {"whatsapp": {"contained": 1, "handed_over": 2, "abandoned": 0, "active": 1,
                                              "rate": round(1 / 3, 4)}}
    assert now["by_area"]["transaction"]["contained"] == 1
    assert denied.status_code == 403
