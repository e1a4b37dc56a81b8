"""The supervisor dashboard (ADR 0026): the daily counters kept by each change, the reports read
from them, the live board, and the console pages (permission, hostile input, CSV export)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest

from gopaycare.desk import counters
from gopaycare.platform import rollup
from gopaycare.platform.errors import ValidationFailed
from gopaycare.refunds import counters as refund_counters
from gopaycare.web.pages.dashboard import _cell
from tests.helpers import api_client

PHONE = "+6281298765432"


def _receive(svc: Any, n: int, **kw: Any) -> Any:
    return svc.desk.conversations.receive(channel=kw.pop("channel", "whatsapp"), identity_kind="whatsapp",
                                          identity_value=f"+62812000{n:05d}", body=f"saldo belum masuk {n}",
                                          **kw)


def _stored_equals_recount(svc: Any) -> rollup.Counter:
    with svc.db.read() as s:
        recounted: rollup.Counter = rollup.Counter()
        for model in (*counters.MODELS, *refund_counters.MODELS):
            recounted.update(rollup.recount(s, model))
        recounted = rollup.Counter({k: v for k, v in recounted.items() if v})
        stored = rollup.stored(s, counters.METRICS + refund_counters.METRICS)
    assert stored == recounted
    return stored


def _by(stored: rollup.Counter, metric: str, *, area: str | None = None, channel: str | None = None) -> int:
    return sum(v for (_, c, a, m), v in stored.items()
               if m == metric and (area is None or a == area) and (channel is None or c == channel))


def test_counters_follow_every_change_and_equal_a_direct_count(svc, clock, supervisor, make_customer,
                                                               make_merchant):
    """Created, answered, reassigned, solved, reopened, moved to another area, solved again, rated,
    refunds paid and waiting: after each step the stored counters equal a recount from the rows."""
    lead = supervisor
    other = svc.agents.create("budi@gopay.test", "agent")
    a = _receive(svc, 1, area="transaction")
    b = _receive(svc, 2, area="account", channel="telegram")
    _stored_equals_recount(svc)
    clock.advance(minutes=10)
    svc.desk.tickets.assign(lead, a.ticket_id, agent_id=lead.agent.id)
    svc.desk.conversations.reply(lead, a.ticket_id, "we are checking")
    stored = _stored_equals_recount(svc)
    assert _by(stored, "first_response.n") == 1 and _by(stored, "first_response.seconds") == 600
    svc.desk.tickets.assign(lead, a.ticket_id, agent_id=other.id)  # reassigned
    clock.advance(hours=1)
    svc.desk.tickets.set_status(lead, a.ticket_id, "solved")
    stored = _stored_equals_recount(svc)
    assert _by(stored, "resolved.n", area="transaction") == 1
    svc.desk.tickets.set_status(lead, a.ticket_id, "open")  # reopened: no longer resolved
    stored = _stored_equals_recount(svc)
    assert _by(stored, "resolved.n") == 0
    svc.desk.tickets.update(lead, a.ticket_id, area="refund_dispute")  # the area moves its counters
    stored = _stored_equals_recount(svc)
    assert _by(stored, "tickets", area="transaction") == 0 and _by(stored, "tickets", area="refund_dispute") == 1
    assert _by(stored, "conversations", area="refund_dispute") == 1
    clock.advance(hours=1)
    svc.desk.tickets.set_status(lead, a.ticket_id, "solved")
    svc.desk.csat.answer(a.ticket_id, 5, "cepat")
    stored = _stored_equals_recount(svc)
    assert _by(stored, "csat.answered", area="refund_dispute") == 1 and _by(stored, "csat.rating_sum") == 5
    svc.desk.tickets.update(lead, a.ticket_id, area="account")  # the survey moves too
    svc.desk.tickets.update(lead, b.ticket_id, area="promotion")
    stored = _stored_equals_recount(svc)
    assert _by(stored, "csat.satisfied", area="account") == 1
    assert _by(stored, "tickets", area="account") == 1 and _by(stored, "tickets", channel="telegram") == 1
    assert _by(stored, "tickets") == 2
    customer, merchant = make_customer(balance=1_000_000), make_merchant("Toko Rollup")
    paid = svc.refunds.submit(customer, svc.wallet.pay_merchant(customer, merchant, 40_000, "p1").reference,
                              reason_code="duplicate_charge", idempotency_key="k1")
    waiting = svc.refunds.submit(customer, svc.wallet.pay_merchant(customer, merchant, 600_000, "p2").reference,
                                 reason_code="duplicate_charge", idempotency_key="k2")
    assert (paid.status, waiting.status) == ("refunded", "awaiting_merchant")
    stored = _stored_equals_recount(svc)
    assert _by(stored, "refunds.requested") == 2 and _by(stored, "refunds.refunded_amount") == 40_000
    # A rebuild from the rows writes exactly what the changes kept.
    with svc.db.transaction() as s:
        rollup.rebuild(s, (*counters.MODELS, *refund_counters.MODELS))
    assert _stored_equals_recount(svc) == stored


# ---------------------------------------------------------------- reports, board and pages (SQLite)

one_engine = pytest.mark.parametrize("backend", ["sqlite"])  # the pages do not depend on the engine


def _sign_in(client: Any, email: str) -> None:
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/console/login").text).group(1)
    signed = client.post("/console/login", data={"csrf": token, "email": email, "password": "demo-pass-1"},
                         follow_redirects=False)
    assert signed.status_code == 303


@pytest.fixture
def desk(svc, clock):
    lead = svc.agents.create("lead@gopay.test", "supervisor", password="demo-pass-1", name="Lead")
    svc.agents.create("ayu@gopay.test", "agent", password="demo-pass-1", name="Ayu")
    first = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp", identity_value=PHONE,
                                           body="saldo saya hilang, nomor 0812-9876-5432", area="transaction",
                                           name="Siti Rahayu")
    second = _receive(svc, 7, area="account", channel="telegram")
    viewer = svc.desk.viewer(lead)
    clock.advance(minutes=30)
    svc.desk.conversations.reply(viewer, first.ticket_id, "kami cek ya")
    svc.desk.tickets.set_status(viewer, first.ticket_id, "solved")
    return {"lead": viewer, "tickets": (first.ticket_id, second.ticket_id)}


@one_engine
def test_the_report_reads_the_counters_of_its_days(svc, clock, desk):
    day = rollup.report_day(clock.now())
    report = svc.desk.reports.report(day, day)
    assert report.total["tickets"] == 2 and report.total["resolved"] == 1
    assert report.total["first_response_minutes"] == 30.0 and report.total["resolution_hours"] == 0.5
    assert report.by_channel["whatsapp"]["tickets"] == 1 and report.by_area["account"]["tickets"] == 1
    assert report.by_day[day.isoformat()]["tickets"] == 2
    # The days before hold nothing; a range is only its own days.
    assert svc.desk.reports.report(day - timedelta(days=3), day - timedelta(days=1)).total["tickets"] == 0


@one_engine
def test_hostile_ranges_are_refused(svc, desk):
    day = date(2026, 12, 1)
    for since, until in ((day, day - timedelta(days=1)), (day - timedelta(days=400), day),
                         (date(1900, 1, 1), day), (day, date(9999, 1, 1))):
        with pytest.raises(ValidationFailed):
            svc.desk.reports.report(since, until)


@one_engine
def test_the_board_shows_queues_load_and_presence(svc, desk):
    board = svc.desk.board.now()
    assert board.waiting == sum(q.waiting for q in board.queues) >= 1
    assert {a.name for a in board.agents} >= {"Lead", "Ayu"}
    assert board.longest_wait_minutes is not None


@one_engine
def test_pages_need_the_reports_permission(svc, desk):
    with api_client(svc) as agent:
        _sign_in(agent, "ayu@gopay.test")
        for path in ("/console/dashboard", "/console/reports", "/console/reports.csv"):
            refused = agent.get(path)
            assert refused.status_code == 403, path
            assert refused.headers["x-error-code"] == "permission_denied"
        assert "/console/dashboard" not in agent.get("/console/inbox").text
    with api_client(svc) as lead:
        _sign_in(lead, "lead@gopay.test")
        assert "/console/dashboard" in lead.get("/console/inbox").text
        board = lead.get("/console/dashboard")
        assert board.status_code == 200 and "Ayu" in board.text
        partial = lead.get("/console/dashboard", headers={"HX-Request": "true"})
        assert partial.status_code == 200 and "<html" not in partial.text
        page = lead.get("/console/reports?lang=en")
        assert page.status_code == 200 and 'id="report-data"' in page.text and "Bot containment" in page.text
        assert "/static/vendor/echarts/echarts.min.js" in page.text
        assert lead.get("/static/vendor/echarts/echarts.min.js").status_code == 200


@one_engine
def test_hostile_query_strings_are_4xx_never_5xx(svc, desk):
    with api_client(svc) as lead:
        _sign_in(lead, "lead@gopay.test")
        for query in ("since=2026-13-40", "since=99999999999999999999", "until=2026-12-01&since=2026-12-02",
                      "since=2020-01-01&until=2026-12-01", "since=0001-01-01", "until=9999-12-31",
                      "since=2026-12-01%00", "since=" + "9" * 5000, "since=%E5%85%AB", "since=-2026-12-1",
                      "since=2026-12-01&since=[]"):
            for path in ("/console/reports", "/console/reports.csv"):
                response = lead.get(f"{path}?{query}")
                assert response.status_code == 422, (path, query, response.status_code)


@one_engine
def test_the_csv_export_is_the_report_masked_and_never_a_formula(svc, clock, desk):
    day = rollup.report_day(clock.now()).isoformat()
    with api_client(svc) as lead:
        _sign_in(lead, "lead@gopay.test")
        exported = lead.get(f"/console/reports.csv?since={day}&until={day}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "group", "figure", "value"]
    assert ["total", "", "tickets", "2"] in rows and ["channel", "telegram", "tickets", "1"] in rows
    text = exported.content.decode("utf-8-sig")
    assert "9876" not in text and "Siti" not in text  # aggregates only: no customer's data
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("-5") == "'-5"
    assert "9876" not in _cell("call 0812-9876-5432")  # any text is masked on the way out


# ---------------------------------------------------------------- admin: agents' capacity


@one_engine
def test_only_agents_manage_sets_a_capacity_and_bad_input_changes_nothing(svc, desk):
    svc.agents.create("root@gopay.test", "admin", password="demo-pass-1", name="Root")
    ayu = svc.agents.get_by_email("ayu@gopay.test")
    with api_client(svc) as lead:  # a supervisor: reports yes, agents no
        _sign_in(lead, "lead@gopay.test")
        assert lead.get("/console/admin/agents").status_code == 403
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', lead.get("/console/inbox").text).group(1)
        refused = lead.post(f"/console/admin/agents/{ayu.id}/capacity", data={"csrf": token, "capacity": "9"})
        assert refused.status_code == 403
    assert svc.agents.get(ayu.id).capacity == ayu.capacity
    with api_client(svc) as root:
        _sign_in(root, "root@gopay.test")
        listing = root.get("/console/admin/agents")
        assert listing.status_code == 200 and "ayu@gopay.test" in listing.text
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', listing.text).group(1)
        assert root.post(f"/console/admin/agents/{ayu.id}/capacity", data={"capacity": "9"}).status_code == 403
        for raw_id, capacity in ((ayu.id, "101"), (ayu.id, "-1"), (ayu.id, "abc"), (ayu.id, "9" * 40),
                                 (ayu.id, "5\x00"), (ayu.id, ""), ("1x", "5"), ("9" * 30, "5"), (999_999, "5")):
            bad = root.post(f"/console/admin/agents/{raw_id}/capacity", data={"csrf": token, "capacity": capacity},
                            follow_redirects=False)
            assert 400 <= bad.status_code < 500, (raw_id, capacity, bad.status_code)
        assert svc.agents.get(ayu.id).capacity == ayu.capacity
        done = root.post(f"/console/admin/agents/{ayu.id}/capacity", data={"csrf": token, "capacity": "9"},
                         follow_redirects=False)
        assert done.status_code == 303
    assert svc.agents.get(ayu.id).capacity == 9


# ---------------------------------------------------------------- the assistant's intents and fallbacks

ASSISTANT_TALK = (  # (channel, who, text): conversations through the real assistant
    ("whatsapp", "+6281277002201", "saya lupa password"),
    ("whatsapp", "+6281277002201", "terima kasih"),
    ("whatsapp", "+6281277002202", "bisa pinjam duit 5jt di gopay ga"),
    ("whatsapp", "+6281277002202", "siapa presiden pertama indonesia"),
    ("whatsapp", "+6281277002203", "kode otp tidak masuk"),
    ("web", "v-intents-1", "my top up has not arrived"),
    ("web", "v-intents-3", "xqzt blorp wibble"),
    ("web", "v-intents-3", "hmm"),
    ("web", "v-intents-4", "it"),
    ("web", "v-intents-5", "saldo transfer kode"),
    ("web", "v-intents-2", "hello"),
    ("web", "v-intents-2", "I want to talk to a human agent"),
    ("web", "v-intents-2", "are you there?"),  # handed over: the assistant stays out, no turn of its own
)


def _talk(bot: Any, channel: str, who: str, text: str) -> Any:
    if channel == "web":
        return bot.chat(channel="web", identity_kind="visitor", identity_value=who, thread=f"visitor:{who}",
                        body=text, language="en")
    return bot.chat(channel="whatsapp", identity_kind="whatsapp", identity_value=who, body=text, language="id")


@one_engine
def test_the_report_counts_the_assistants_intents_and_fallbacks_as_the_turns_did(svc, clock, bot, make_customer):
    from gopaycare.assistant.dialogue import HANDOFF_INTENT

    for phone in ("+6281277002201", "+6281277002202", "+6281277002203"):
        make_customer(phone=phone)
    intents: dict[str, rollup.Counter] = {"whatsapp": rollup.Counter(), "web": rollup.Counter()}
    fallbacks, turns, declined = rollup.Counter(), rollup.Counter(), 0
    handed: set[str] = set()
    for channel, who, text in ASSISTANT_TALK:
        answer = _talk(bot, channel, who, text)
        if who in handed:  # after the handover a person answers: not the assistant's turn
            assert answer.intent is None
            continue
        turns[channel] += 1
        if answer.intent in bot.flows or answer.intent == HANDOFF_INTENT:
            intents[channel][answer.intent] += 1
        else:
            fallbacks[channel] += 1
            declined += answer.intent in ("oos", "out_of_scope")
        if answer.handed_off:
            handed.add(who)
    assert sum(fallbacks.values()) >= 3 and sum(len(c) for c in intents.values()) >= 4  # the talk meant
    day = rollup.report_day(clock.now())
    report = svc.desk.reports.report(day, day, top=3)
    everything = intents["whatsapp"] + intents["web"]
    top3 = sorted(everything.items(), key=lambda pair: (-pair[1], pair[0]))[:3]
    assert report.assistant["intents"] == [list(pair) for pair in top3]
    assert report.assistant["turns"] == sum(turns.values()) and report.assistant["fallbacks"] == sum(fallbacks.values())
    assert report.assistant["fallback_rate"] == round(sum(fallbacks.values()) / sum(turns.values()), 4)
    assert report.assistant["fallback_by_kind"]["out_of_scope"] == declined >= 2
    for channel in ("whatsapp", "web"):
        mine = svc.desk.reports.report(day, day).assistant_by_channel[channel]
        assert dict(map(tuple, mine["intents"])) == dict(intents[channel])
        assert (mine["turns"], mine["fallbacks"]) == (turns[channel], fallbacks[channel])
    # A day before holds none of it; a recount has no rows to count turns from and leaves them be.
    assert svc.desk.reports.report(day - timedelta(days=1), day - timedelta(days=1)).assistant["turns"] == 0
    svc.desk.reports.recount()
    assert svc.desk.reports.report(day, day, top=3).assistant == report.assistant
    for top in (0, 101, "3", True):
        with pytest.raises(ValidationFailed):
            svc.desk.reports.report(day, day, top=top)
    # The reports page draws and lists them; the CSV exports them.
    svc.agents.create("lead@gopay.test", "supervisor", password="demo-pass-1", name="Lead")
    with api_client(svc) as lead:
        _sign_in(lead, "lead@gopay.test")
        page = lead.get("/console/reports?lang=en")
        exported = lead.get(f"/console/reports.csv?since={day}&until={day}")
    assert page.status_code == 200 and 'id="chart-intents"' in page.text and "Fallback rate" in page.text
    top_table = page.text[page.text.index('id="top-intents"'):].split("</table>")[0]
    assert "asked for a person" in top_table and "account_password_reset" not in top_table  # named, not coded
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert ["assistant", "", "turns", str(sum(turns.values()))] in rows
    assert ["assistant", "web", "fallbacks", str(fallbacks["web"])] in rows
    for name, n in everything.items():
        assert ["intent", name, "turns", str(n)] in rows


class _Scripted:
    """An NLU that reads each message as told (`Parse` by text): the fallbacks the product model rarely
    gives on demand (unsure, "A or B?") and a flow that fails, without loading it."""

    def __init__(self, readings: dict[str, list[tuple[str, float]]]) -> None:
        self.readings = readings

    def parse(self, text: str, lang: str | None = None) -> Any:
        from gopaycare.assistant.nlu.types import Intent, Parse

        ranking = [Intent(name, confidence) for name, confidence in self.readings[text]]
        return Parse(text=text, intent=ranking[0], intent_ranking=ranking, lang=lang or "en")


@one_engine
def test_each_kind_of_fallback_is_counted_once_and_a_rolled_back_turn_not_at_all(svc, clock, monkeypatch):
    nlu = _Scripted({"zzq one": [("nlu_fallback", 0.3)],
                     "zzq two": [("nlu_fallback", 0.3), ("txn_topup", 0.35), ("txn_not_received", 0.3)],
                     "zzq three": [("txn_topup", 0.9)], "zzq four": [("thanks", 0.9)]})
    bot = svc.make_assistant(nlu)

    class Broken:
        def start(self, *_: Any) -> Any:
            raise RuntimeError("a flow fails")

    monkeypatch.setattr(bot, "flows", {**bot.flows, "txn_topup": Broken()})
    for n, text in enumerate(("zzq one", "zzq two", "zzq three", "zzq four")):
        _talk(bot, "web", f"v-kinds-{n}", text)
    day = rollup.report_day(clock.now())
    assistant = svc.desk.reports.report(day, day).assistant
    assert assistant["fallback_by_kind"] == {"unsure": 1, "out_of_scope": 0, "clarify": 1, "error": 1}
    assert (assistant["turns"], assistant["fallbacks"], assistant["intents"]) == (4, 3, [["thanks", 1]])

    def fail(*_: Any, **__: Any) -> None:
        raise RuntimeError("the unit of work fails")

    monkeypatch.setattr(bot.deps.bot, "do_reply", fail)  # the turn is not stored: nothing is counted
    with pytest.raises(RuntimeError):
        _talk(bot, "web", "v-kinds-9", "zzq four")
    assert svc.desk.reports.report(day, day).assistant == assistant
