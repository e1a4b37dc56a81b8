"""The brief's refund procedure end to end through the assistant (the in-app chat's real API,
`POST /api/v1/me/assistant`, on the product model), in zh-CN, en and id: apply → the merchant is
silent → review → a maker proposes → a checker approves → refunded → the customer asks the assistant
and sees the refund, is told on the chat in their language, the timeline, the balance restored and the
cashback clawed back. The API version is tests/test_refunds_api.py; the agents' steps are the same."""

from __future__ import annotations

import pytest

from gopaycare.wallet.verify import verify
from tests.conftest import PASSWORD
from tests.test_refunds_api import paid

PHONE = "+6281277770002"
APPLY = {"zh-CN": ("我要退款，1000000那笔", "鞋子一直没有送到"),
         "en": ("i want a refund for the 1000000 payment", "the shoes never arrived"),
         "id": ("mau refund pembayaran 1000000", "sepatunya tidak pernah sampai")}
WHERE = {"zh-CN": "我的退款到哪了", "en": "where is my refund", "id": "refund saya sudah sampai mana"}
REFUNDED = {"zh-CN": ("已退款", "款项已退回"), "en": ("refunded", "The money is back"),
            "id": ("sudah dikembalikan", "Dana sudah kembali")}


@pytest.mark.parametrize("backend", ["sqlite"])  # the conversation, not the engine, is tested here
@pytest.mark.parametrize("lang", ["zh-CN", "en", "id"])
def test_the_refund_procedure_through_the_assistant(svc, client, clock, bot, make_customer, make_merchant, lang):
    svc._assistant = bot
    customer = make_customer(phone=PHONE, balance=2_000_000, language=lang)
    world = {"customer": customer, "merchant": make_merchant("Toko Sepatu")}
    reference = paid(svc, world, 1_000_000, "order-1", cashback=50_000)
    agents = {}
    for email in ("maker@gopay.test", "checker@gopay.test"):
        svc.agents.create(email, "supervisor")
        agents[email.split("@")[0]] = {"Authorization": f"Bearer {svc.agents.create_token(email)}"}

    def me() -> dict:
        token = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    def say(text: str) -> dict:
        answer = client.post("/api/v1/me/assistant", json={"body": text}, headers=me())
        assert answer.status_code == 200, answer.text
        return answer.json()

    # Apply through the assistant: the payment named by its amount, then the reason
    asked = say(APPLY[lang][0])
    assert asked["intent"] == "refund_apply" and not svc.refunds.list(customer)
    if "1. GP" in "\n".join(asked["replies"]):  # the list of refundable payments: the customer picks
        say("1")
    submitted = say(APPLY[lang][1])
    [request] = svc.refunds.list(customer)
    assert f"RR{request.id}" in "\n".join(submitted["replies"]) and request.transaction_reference == reference
    assert request.status == "awaiting_merchant"

    # The merchant is silent; GoPay reviews; the maker proposes, the checker approves
    clock.advance(days=svc.settings.refunds.merchant_days, minutes=1)
    svc.tasks["refunds_sweep"].call_local()
    rid = request.id
    assert client.post(f"/api/v1/refunds/{rid}/propose", json={"reason": "no tracking"},
                       headers=agents["maker"]).status_code == 200
    approved = client.post(f"/api/v1/refunds/{rid}/approve", json={"reason": "checked"}, headers=agents["checker"])
    assert approved.status_code == 200 and approved.json()["status"] == "refunded"

    # The customer asks the assistant: the request is refunded, in their language
    status = say(WHERE[lang])
    text = "\n".join(status["replies"])
    assert status["intent"] == "refund_status" and f"RR{rid}" in text and REFUNDED[lang][0] in text, text
    # ... was told on the chat they used, and sees the timeline, the balance and the clawback
    mine = client.get(f"/api/v1/me/refunds/{rid}", headers=me()).json()
    assert [s["step"] for s in mine["timeline"]][-3:] == ["processing", "refunded", "clawed_back"]
    assert mine["timeline"][-2]["text"] == REFUNDED[lang][1], mine["timeline"][-2]
    assert mine["clawback"] == {"due": 50_000, "taken": 50_000, "shortfall": 0}
    assert client.get("/api/v1/me/wallet", headers=me()).json()["balance"] == 2_000_000
    conversation_id = submitted["conversation_id"]
    said = client.get(f"/api/v1/me/conversations/{conversation_id}/messages?after=0", headers=me()).json()
    bodies = [m["body"] for m in (said["items"] if isinstance(said, dict) else said)]
    assert sum(f"RR{rid}" in body for body in bodies) >= 2, bodies  # submitted, then the refund notice
    assert verify(svc.db).ok
