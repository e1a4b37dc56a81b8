"""Ticket search: Chinese, English and Indonesian text, internal notes, tags and references; kept up to
date as tickets change; only tickets the agent may see; user input is never FTS syntax."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select, text

from gopaycare.desk import search as search_module
from gopaycare.desk.models import Ticket, TicketSearch
from gopaycare.platform.errors import ValidationFailed
from tests.conftest import START

_phones = count(1)


def new_ticket(svc, body, *, phone=None, channel="chat", kind="phone"):
    """A customer's first message: a new ticket (each call from another phone unless told)."""
    phone = phone or f"+62812{next(_phones):08d}"
    got = svc.desk.conversations.receive(channel=channel, identity_kind=kind, identity_value=phone, body=body)
    assert got.new_ticket
    return got.ticket_id


def stored(svc, ticket_id):
    with svc.db.read() as s:
        row = s.get(TicketSearch, ticket_id)
        return row.tokens, row.updated_at


# ---------------------------------------------------------------- languages


def test_a_chinese_ticket_is_found_by_its_words(svc, supervisor):
    # Given a customer writes in Chinese
    ticket = new_ticket(svc, "我的付款失败了，钱被扣了")

    # When an agent searches for words of it, however they type them
    # Then it is found by whole words, words in another order or spacing, and by jieba's fragments:
    # "扣了" cuts into 扣 + 了 while the message has 被扣, found through the stored characters
    for query in ("付款", "付款失败", "付款 失败", "失败付款", "被扣", "扣了", "钱", "付款失敗", "付款，失败！"):
        assert svc.desk.search.search(supervisor, query) == [ticket], query
    # And words that are not in it find nothing, even when their characters are there separately
    for query in ("退款", "付款成功", "款付"):
        assert svc.desk.search.search(supervisor, query) == [], query


def test_the_chinese_text_is_stored_segmented(svc):
    ticket = new_ticket(svc, "我的付款失败了，钱被扣了")

    # Subject (the first line) and the message, each as words then characters
    segmented = "付款 失败 我 的 付 款 失 败 了 被扣 钱 被 扣 了"
    assert stored(svc, ticket) == (f"{segmented} {segmented}", START)


def test_an_english_ticket_is_found_by_exact_words(svc, supervisor):
    ticket = new_ticket(svc, "my payment keeps failing")

    for query in ("payment", "PAYMENT", "payment failing", "Failing, payment?"):
        assert svc.desk.search.search(supervisor, query) == [ticket], query
    # Exact words only: no stemming, no prefixes
    for query in ("payments", "pay", "fail", "payment refund"):
        assert svc.desk.search.search(supervisor, query) == [], query


def test_an_indonesian_ticket_is_found(svc, supervisor):
    ticket = new_ticket(svc, "saldo belum masuk setelah top up")
    other = new_ticket(svc, "saldo keluar dua kali")

    assert svc.desk.search.search(supervisor, "saldo masuk") == [ticket]
    assert svc.desk.search.search(supervisor, "Top-Up") == [ticket]
    assert svc.desk.search.search(supervisor, "saldo keluar") == [other]
    assert sorted(svc.desk.search.search(supervisor, "saldo")) == [ticket, other]


def test_full_width_text_is_normalized_on_both_sides(svc, supervisor):
    # Given a message typed with a full-width keyboard
    ticket = new_ticket(svc, "ＧＯＰＡＹ saya diblokir")

    # Then it is stored half-width and lower case
    assert stored(svc, ticket)[0] == "gopay saya diblokir gopay saya diblokir"
    # And found whichever width the agent types
    assert svc.desk.search.search(supervisor, "gopay") == [ticket]
    assert svc.desk.search.search(supervisor, "ＧｏＰａｙ") == [ticket]


def test_references_and_amounts_are_whole_tokens(svc, supervisor):
    ticket = new_ticket(svc, "Transfer Rp 50.000 gagal, ref GP2611251A2B3C")

    assert svc.desk.search.search(supervisor, "GP2611251A2B3C") == [ticket]
    assert svc.desk.search.search(supervisor, "gp2611251a2b3c") == [ticket]
    assert svc.desk.search.search(supervisor, "50000") == [ticket]
    assert svc.desk.search.search(supervisor, "Rp50,000") == [ticket]
    assert svc.desk.search.search(supervisor, "GP2611251") == []


# ---------------------------------------------------------------- what is indexed, kept up to date


def test_an_internal_note_is_searchable(svc, supervisor, clock):
    # Given a ticket that does not mention the bank
    ticket = new_ticket(svc, "refund belum diterima")
    assert svc.desk.search.search(supervisor, "bca") == []

    # When an agent leaves an internal note
    clock.advance(minutes=5)
    svc.desk.conversations.reply(supervisor, ticket, "Sudah dicek, refund manual ke BCA", internal=True)

    # Then the note's words find the ticket, and the index row was refreshed
    assert svc.desk.search.search(supervisor, "bca") == [ticket]
    assert svc.desk.search.search(supervisor, "refund manual") == [ticket]
    assert stored(svc, ticket)[1] == START + timedelta(minutes=5)


def test_a_message_added_later_updates_the_index(svc, supervisor, clock):
    phone = "+6281234567890"
    ticket = new_ticket(svc, "topup gagal", phone=phone)
    assert svc.desk.search.search(supervisor, "GP2611251A2B3C") == []

    # When the customer writes again on the same ticket, and the agent answers
    clock.advance(minutes=3)
    again = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone,
                                           body="nomor referensi GP2611251A2B3C")
    clock.advance(minutes=2)
    svc.desk.conversations.reply(supervisor, ticket, "Terima kasih, kami proses pengembalian dana")

    # Then both new messages are searchable on the same ticket
    assert (again.ticket_id, again.new_ticket) == (ticket, False)
    assert svc.desk.search.search(supervisor, "GP2611251A2B3C") == [ticket]
    assert svc.desk.search.search(supervisor, "pengembalian dana") == [ticket]
    assert svc.desk.search.search(supervisor, "topup referensi pengembalian") == [ticket]
    # And there is still one index row for the ticket
    assert stored(svc, ticket) == ("topup gagal topup gagal nomor referensi gp2611251a2b3c "
                                   "terima kasih kami proses pengembalian dana", START + timedelta(minutes=5))
    with svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(TicketSearch)).scalar_one() == 1


def test_words_added_message_by_message_equal_a_rebuild(svc, supervisor, clock):
    # Given a conversation that grows message by message (each adds its words to the stored text,
    # without reading the ticket's earlier messages again)
    phone = "+6281234567891"
    ticket = new_ticket(svc, "saldo hilang", phone=phone)
    for body in ("sudah 2 hari", "我的钱呢", "please check 0812-3456-7890"):
        clock.advance(minutes=1)
        svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone, body=body)
    svc.desk.conversations.reply(supervisor, ticket, "cek mutasi dulu", internal=True)
    grown = stored(svc, ticket)[0]

    # When the same ticket's text is rebuilt from all it holds
    with svc.db.transaction() as s:
        svc.desk.search.index(s, s.get(Ticket, ticket), clock.now())

    # Then the text is the same, personal data masked in both
    assert stored(svc, ticket)[0] == grown
    assert "mutasi" in grown and "3456" not in grown


def test_a_changed_subject_replaces_the_old_words(svc, supervisor):
    # Given a ticket whose subject an agent rewrites
    ticket = new_ticket(svc, "halo")
    svc.desk.tickets.update(supervisor, ticket, subject="Kartu kredit ditolak")
    assert svc.desk.search.search(supervisor, "kredit") == [ticket]

    # When the subject changes again
    svc.desk.tickets.update(supervisor, ticket, subject="Akun terkunci")

    # Then the old subject's words no longer find it (the FTS row was replaced, not added to)
    assert svc.desk.search.search(supervisor, "kredit") == []
    assert svc.desk.search.search(supervisor, "terkunci") == [ticket]
    assert svc.desk.search.search(supervisor, "halo") == [ticket]


def test_tags_are_searchable(svc, supervisor):
    ticket = new_ticket(svc, "halo")

    svc.desk.tickets.update(supervisor, ticket, tags=["VIP customer", "fraud"])

    assert svc.desk.search.search(supervisor, "fraud") == [ticket]
    assert svc.desk.search.search(supervisor, "vip") == [ticket]


def test_linked_references_are_indexed(svc, supervisor, make_customer, clock):
    # Given a ticket linked to the customer's top-up
    customer = make_customer()
    reference = svc.wallet.topup(customer, 150_000, "card", "search-topup").reference
    ticket = new_ticket(svc, "saldo tidak bertambah")
    svc.desk.tickets.link(supervisor, ticket, "transaction", reference)

    # When the ticket is indexed
    with svc.db.transaction() as s:
        svc.desk.search.index(s, s.get(Ticket, ticket), clock.now())

    # Then the reference finds it
    assert svc.desk.search.search(supervisor, reference) == [ticket]


def test_the_stored_text_is_capped_keeping_the_first_parts(svc, supervisor, monkeypatch):
    # Given a small cap (the real one is far above any real ticket)
    monkeypatch.setattr(search_module, "MAX_INDEXED_CHARS", 40)
    phone = "+6281299999999"
    ticket = new_ticket(svc, "pertama", phone=phone)

    # When the ticket grows past it
    svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone,
                                   body="kedua " + "panjang " * 10)

    # Then the subject and first message stay, the message that does not fit is left out
    assert stored(svc, ticket)[0] == "pertama pertama"
    assert svc.desk.search.search(supervisor, "pertama") == [ticket]
    assert svc.desk.search.search(supervisor, "kedua") == []


# ---------------------------------------------------------------- who sees what


def test_an_agent_finds_only_tickets_they_may_see(svc, supervisor):
    # Given an agent without ticket.view_all and a colleague
    ayu = svc.agents.create("ayu@gopay.test", "agent")
    budi = svc.agents.create("budi@gopay.test", "agent")
    mine = new_ticket(svc, "topup gagal lagi")
    theirs = new_ticket(svc, "topup gagal terus")
    unassigned = new_ticket(svc, "topup gagal hari ini")
    svc.desk.tickets.assign(supervisor, mine, agent_id=ayu.id)
    svc.desk.tickets.assign(supervisor, theirs, agent_id=budi.id)
    with svc.db.read() as s:
        assert [(t.assignee_id, t.team_id) for t in s.scalars(select(Ticket).order_by(Ticket.id))] == [
            (ayu.id, None), (budi.id, None), (None, None)]

    # When each searches
    as_ayu = svc.desk.search.search(svc.desk.viewer(ayu), "topup gagal")
    as_budi = svc.desk.search.search(svc.desk.viewer(budi), "topup gagal")
    as_lead = svc.desk.search.search(supervisor, "topup gagal")

    # Then an agent sees their own and unassigned tickets, a supervisor sees all
    assert sorted(as_ayu) == [mine, unassigned]
    assert sorted(as_budi) == [theirs, unassigned]
    assert sorted(as_lead) == [mine, theirs, unassigned]


def test_a_merged_ticket_is_not_found_its_target_is(svc, supervisor):
    # Given one customer with two tickets (chat and WhatsApp), the first merged into the second
    phone = "+6281277777777"
    source = new_ticket(svc, "voucher tidak bisa dipakai", phone=phone)
    target = new_ticket(svc, "promo cashback", phone=phone, channel="whatsapp", kind="whatsapp")
    svc.desk.tickets.merge(supervisor, source, target, reason="same case")

    # When searching the merged ticket's words
    found = svc.desk.search.search(supervisor, "voucher")

    # Then only the target, which now holds the messages, is found
    assert found == [target]
    assert svc.desk.search.search(supervisor, "voucher cashback") == [target]
    assert svc.desk.search.search(supervisor, "voucher", status="merged") == []


def test_status_filter(svc, supervisor):
    waiting = new_ticket(svc, "refund belum masuk")
    fresh = new_ticket(svc, "refund ditolak")
    svc.desk.tickets.set_status(supervisor, waiting, "pending_customer")

    assert svc.desk.search.search(supervisor, "refund", status="pending_customer") == [waiting]
    assert svc.desk.search.search(supervisor, "refund", status="new") == [fresh]
    assert svc.desk.search.search(supervisor, "refund", status="solved") == []


# ---------------------------------------------------------------- ranking and limits


def test_the_better_match_comes_first(svc, supervisor):
    # Given one ticket about refunds and one that mentions a refund in passing
    passing = new_ticket(svc, "aplikasi lambat sekali waktu membuka riwayat transaksi, mungkin refund nanti")
    about = new_ticket(svc, "refund refund, kapan refund saya masuk")

    # Then the one about refunds ranks first, although it is newer
    assert svc.desk.search.search(supervisor, "refund") == [about, passing]
    # And the ranking is by the query, not by the ticket
    assert svc.desk.search.search(supervisor, "riwayat") == [passing]


def test_equal_matches_come_newest_first(svc, supervisor):
    first = new_ticket(svc, "akun diblokir")
    second = new_ticket(svc, "akun diblokir")
    third = new_ticket(svc, "akun diblokir")

    assert svc.desk.search.search(supervisor, "diblokir") == [third, second, first]
    assert svc.desk.search.search(supervisor, "diblokir", limit=2) == [third, second]


# ---------------------------------------------------------------- input


@pytest.mark.parametrize("query", ["", "   ", "\n\t", None])
def test_a_blank_query_is_refused(svc, supervisor, query):
    new_ticket(svc, "halo")

    with pytest.raises(ValidationFailed) as refused:
        svc.desk.search.search(supervisor, query)

    assert refused.value.details == {"field": "query"}


def test_a_query_of_only_punctuation_finds_nothing(svc, supervisor):
    new_ticket(svc, "halo")

    assert svc.desk.search.search(supervisor, "？！…… ***") == []


@pytest.mark.parametrize(("query", "kwargs", "field"), [
    ("halo", {"limit": 0}, "limit"), ("halo", {"status": "deleted"}, "status"), ("x" * 501, {}, "query")])
def test_bad_arguments_are_refused(svc, supervisor, query, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        svc.desk.search.search(supervisor, query, **kwargs)

    assert refused.value.details == {"field": field}


@pytest.mark.parametrize(("query", "expected"), [
    ('"; DROP TABLE tickets; --', []),
    ("'; DELETE FROM ticket_search; --", []),
    ("refund OR topup", []),            # OR is a word here, not an operator
    ("NEAR(", []),
    ("NEAR(refund topup)", []),
    ("tokens:topup", []),               # not a column filter
    ("refund NOT", []),
    ("' OR 1=1 --", []),
    ("refund*", ["refund"]),            # not a prefix query: the star is punctuation
    ('"refund"', ["refund"]),
    ("-refund", ["refund"]),
    ("^refund", ["refund"]),
    ("(refund)", ["refund"]),
    ("refund & !", ["refund"]),         # tsquery operators are punctuation too
    ("topup | refund", []),
    ("topup:*", ["topup"]),
])
def test_search_syntax_in_a_query_is_just_text(svc, supervisor, query, expected):
    # Given two tickets
    tickets = {"refund": new_ticket(svc, "refund BCA"), "topup": new_ticket(svc, "topup OVO")}

    # When the query holds FTS or SQL syntax
    found = svc.desk.search.search(supervisor, query)

    # Then it neither fails nor matches everything, and the tables are untouched
    assert found == [tickets[name] for name in expected]
    with svc.db.read() as s:
        assert s.execute(text("SELECT COUNT(*) FROM ticket_search")).scalar_one() == 2
    assert svc.desk.search.search(supervisor, "bca") == [tickets["refund"]]
