"""The answers the assistant could not give before (issue 13), in zh-CN, en and id, through the in-app
chat's HTTP API (`POST /api/v1/me/assistant`) on the real product model, wallet and desk: upgrading to
GoPay Plus, what is left of a limit, a partial refund, what lifts a freeze, a new number without the
old SIM, and loans (declined). Each checks the facts in the reply against the seeded state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gopaycare.desk.models import Message, Ticket
from gopaycare.platform.audit import Actor
from tests.conftest import PASSWORD
from tests.helpers import codes_to

LANGS = ["zh-CN", "en", "id"]
PHONE = "+6281277001100"


@pytest.fixture
def chat(svc, client, bot):
    """A logged-in customer's in-app chat: `chat(text, language)` posts one message, returns the answer."""
    svc._assistant = bot
    tokens: dict[str, str] = {}

    def send(text: str, language: str | None = None, phone: str = PHONE) -> dict:
        if phone not in tokens:
            login = {"login": phone, "password": PASSWORD}
            tokens[phone] = client.post("/api/v1/auth/login", json=login).json()["token"]
        body = {"body": text} | ({"language": language} if language else {})
        response = client.post("/api/v1/me/assistant", json=body, headers={"authorization": f"Bearer {tokens[phone]}"})
        assert response.status_code == 200, response.text
        return response.json()

    return send


def text_of(answer: dict) -> str:
    return "\n".join(answer["replies"])


def ticket_of(svc, answer: dict) -> Ticket:
    with svc.db.read() as s:
        return s.get(Ticket, answer["ticket_id"])


def note_of(svc, answer: dict) -> str:
    with svc.db.read() as s:
        return s.scalars(select(Message.body).where(Message.ticket_id == answer["ticket_id"],
                                                    Message.internal.is_(True))).all()[-1]


# ---------------------------------------------------------------- GoPay Plus


UPGRADE = {"zh-CN": "我想把账户升级到GoPay Plus，要怎么做", "en": "how can I upgrade my account to gopay plus?",
           "id": "gimana caranya upgrade akun ke gopay plus"}
ID_WORD = {"zh-CN": "身份证", "en": "ID card", "id": "KTP"}


@pytest.mark.parametrize("lang", LANGS)
def test_upgrade_to_plus_explains_how_and_the_limits_and_sends_no_code(svc, chat, make_customer, lang):
    make_customer(phone=PHONE, balance=150_000)

    answer = chat(UPGRADE[lang], lang)

    text = text_of(answer)
    assert answer["intent"] == "txn_limit" and not answer["handed_off"]
    # The tier limits in force (settings), the steps, and this customer's own cap
    assert "Rp20.000.000" in text and "Rp40.000.000" in text and "Rp2.000.000" in text
    assert ID_WORD[lang] in text
    assert codes_to(svc, PHONE) == []  # neither an SMS code nor app troubleshooting


@pytest.mark.parametrize("lang,text", [("en", "how do i upgrade?"), ("id", "cara upgrade gmn"),
                                       ("zh-CN", "怎么升级")])
def test_a_bare_how_to_upgrade_is_the_plus_upgrade_not_an_app_update(svc, chat, make_customer, lang, text):
    make_customer(phone=PHONE)

    answer = chat(text, lang)

    assert answer["intent"] == "txn_limit"
    assert "Rp20.000.000" in text_of(answer)
    assert codes_to(svc, PHONE) == []


def test_a_plus_customer_is_told_there_is_nothing_to_upgrade(chat, make_customer):
    make_customer(phone=PHONE, tier="plus")

    answer = chat("how do I upgrade to GoPay Plus", "en")

    assert "already GoPay Plus" in text_of(answer)


def test_updating_the_app_is_still_app_troubleshooting(chat, make_customer):
    make_customer(phone=PHONE)

    answer = chat("I can't update the app to the new version", "en")

    assert answer["intent"] == "tech_app_update"


# ---------------------------------------------------------------- what is left


LEFT = {"zh-CN": "我今天还能花多少钱？这个月还能充值多少？",
        "en": "how much more can I spend today and top up this month?",
        "id": "hari ini sy masih bisa belanja berapa lagi, bulan ini masih bisa top up berapa"}


@pytest.mark.parametrize("lang", LANGS)
def test_how_much_more_says_what_is_left_from_real_limits_and_usage(svc, chat, make_customer, make_merchant, lang):
    customer = make_customer(phone=PHONE, balance=500_000)
    svc.wallet.pay_merchant(customer, make_merchant(), 300_000, "p-left")

    answer = chat(LEFT[lang], lang)

    text = text_of(answer)
    assert answer["intent"] == "txn_limit"
    # Daily out: Rp2.000.000 - Rp300.000 used; spend: the balance Rp200.000 is smaller
    assert "Rp1.700.000" in text and "Rp200.000" in text
    # Monthly in: Rp20.000.000 - Rp500.000; room under the Rp2.000.000 cap: Rp1.800.000 (the top-up bound)
    assert "Rp19.500.000" in text and "Rp1.800.000" in text


# ---------------------------------------------------------------- partial refund


PARTIAL = {"zh-CN": "为什么我的退款只退了一部分", "en": "why was only part of my refund paid back?",
           "id": "kok refund sy cuma balik sebagian"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_partial_refund_is_explained_and_the_rest_can_be_disputed(svc, chat, make_customer, make_merchant, lang):
    customer = make_customer(phone=PHONE, balance=600_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bukaloka"), 480_000, "p-part")
    svc.wallet.refund(payment.reference, 180_000, "r-part", reason="one item missing")

    answer = chat(PARTIAL[lang], lang)
    text = text_of(answer)
    assert answer["intent"] == "refund_status"
    assert payment.reference in text and "Bukaloka" in text
    assert "Rp480.000" in text and "Rp180.000" in text and "Rp300.000" in text and "one item missing" in text

    disputed = chat({"zh-CN": "要", "en": "yes", "id": "iya"}[lang], lang)

    assert disputed["handed_off"]
    ticket = ticket_of(svc, disputed)
    assert ticket.area == "refund_dispute" and {"dispute", "partial_refund"} <= set(ticket.tags)
    assert "Rp300.000" in note_of(svc, disputed)  # the summary names the facts checked


def test_no_partial_refund_says_so_and_lists_the_refunds(svc, chat, make_customer, make_merchant):
    customer = make_customer(phone=PHONE, balance=600_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bukaloka"), 100_000, "p-full")
    svc.wallet.refund(payment.reference, 100_000, "r-full", reason="cancelled")

    answer = chat("why did I only get part of my refund", "en")

    assert "only in part" in text_of(answer) and payment.reference in text_of(answer)


# ---------------------------------------------------------------- freeze


FREEZE = {"zh-CN": "我的账户被冻结了，怎样才能解冻", "en": "what does it take to get my frozen account unfrozen?",
          "id": "akun sy dibekukan, gmn caranya biar dibuka lagi"}


@pytest.mark.parametrize("lang", LANGS)
def test_what_lifts_a_freeze_is_explained_and_the_account_team_takes_it(svc, chat, make_customer, lang):
    customer = make_customer(phone=PHONE, balance=250_000)
    svc.identity.freeze(customer, actor=Actor.customer(customer), reason="phone stolen")

    answer = chat(FREEZE[lang], lang)

    text = text_of(answer)
    assert answer["intent"] == "account_locked" and answer["handed_off"]
    assert "Rp250.000" in text and "phone stolen" in text and ID_WORD[lang] in text
    ticket = ticket_of(svc, answer)
    assert ticket.area == "account" and "unfreeze_review" in ticket.tags
    assert svc.identity.get(customer).frozen  # only a person lifts it
    assert "lift the freeze" in note_of(svc, answer)


# ---------------------------------------------------------------- a new number without the old SIM


LOST_SIM = {"zh-CN": "我的旧手机卡丢了，想把GoPay换到新号码",
            "en": "I lost my old SIM card, how do I move gopay to my new number",
            "id": "sim card lama sy hilang, mau ganti nomor gopay ke nomor baru"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_lost_sim_goes_to_document_review_without_sending_a_code(svc, chat, make_customer, lang):
    make_customer(phone=PHONE)

    answer = chat(LOST_SIM[lang], lang)

    assert answer["intent"] == "account_update_info" and answer["handed_off"]
    assert f"#{answer['ticket_id']}" in text_of(answer) and ID_WORD[lang] in text_of(answer)
    assert codes_to(svc, PHONE) == []  # a code to the lost SIM helps nobody
    ticket = ticket_of(svc, answer)
    assert {"document_review", "number_change"} <= set(ticket.tags) and ticket.area == "account"


def test_an_anonymous_visitor_with_a_lost_sim_is_not_asked_for_the_old_number(svc, client, bot, make_customer):
    svc._assistant = bot
    make_customer(phone=PHONE)
    visitor = client.post("/api/v1/chat/visitors", json={}).json()["token"]

    answer = client.post("/api/v1/me/assistant", json={"body": LOST_SIM["en"]},
                         headers={"authorization": f"Bearer {visitor}"}).json()

    assert answer["handed_off"] and codes_to(svc, PHONE) == []


# ---------------------------------------------------------------- loans and other asks


LOAN = {"zh-CN": "我能在GoPay借五百万吗", "en": "can gopay lend me 5 million rupiah?",
        "id": "bisa pinjam duit 5jt di gopay ga"}
DECLINE = {"zh-CN": "贷款", "en": "loans", "id": "pinjaman"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_loan_request_is_politely_declined_not_the_limits_flow(svc, chat, make_customer, lang):
    make_customer(phone=PHONE)

    answer = chat(LOAN[lang], lang)

    assert answer["intent"] == "out_of_scope" and not answer["handed_off"]
    assert DECLINE[lang] in text_of(answer)
    assert "Rp2.000.000" not in text_of(answer)  # not the limits answer


@pytest.mark.parametrize("lang,text,word", [("en", "what's the weather in Jakarta tomorrow", "GoPay wallet"),
                                            ("id", "siapa presiden pertama indonesia", "dompet GoPay"),
                                            ("zh-CN", "给我讲个笑话吧", "GoPay 钱包")])
def test_other_out_of_scope_asks_get_a_polite_decline(chat, make_customer, lang, text, word):
    make_customer(phone=PHONE)

    answers = [chat(text, lang) for _ in range(3)]

    assert all(word in text_of(a) for a in answers)
    assert not any(a["handed_off"] for a in answers)  # declining is not failing to understand


@pytest.mark.parametrize("lang,failed,how", [
    ("zh-CN", "我给朋友转账失败了", "那要怎么升级？"),
    ("en", "my transfer to a friend failed", "so how do I upgrade then?"),
    ("id", "transfer ke teman sy gagal", "trus cara upgradenya gimana?"),
])
def test_after_the_bot_says_upgrade_asking_how_gets_the_plus_steps(svc, chat, make_customer, lang, failed, how):
    customer = make_customer(phone=PHONE, balance=300_000)
    friend = make_customer(phone="+6281277009900")
    svc.wallet.transfer(customer, friend, 100_000, "t-kyc")  # refused: a basic account cannot send to a person
    first = chat(failed, lang)
    assert "GoPay Plus" in text_of(first)

    answer = chat(how, lang)

    assert answer["intent"] == "txn_limit" and "Rp20.000.000" in text_of(answer)
    assert codes_to(svc, PHONE) == []
