"""SLA engine: business-hours arithmetic, policies, targets, pauses, warnings, breaches.

The fake clock starts on Wednesday 25 November 2026, 10:00 in Jakarta (WIB, UTC+7); times in
these tests are written in WIB. The office calendar is Monday to Friday 08:00-12:00 and
13:00-17:00, closed on Christmas Day (Friday 25 December 2026).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from gopaycare.desk.calendar import Calendar, add_business_seconds, business_seconds_between
from gopaycare.desk.models import BusinessCalendar, SlaEvent, SlaPolicy, SlaTarget, Ticket
from gopaycare.platform import audit
from gopaycare.platform.audit import AuditEntry
from gopaycare.platform.errors import Conflict, ValidationFailed

WIB = ZoneInfo("Asia/Jakarta")
BERLIN = ZoneInfo("Europe/Berlin")
PHONE = "+6281234567890"
WORKDAY = [["08:00", "12:00"], ["13:00", "17:00"]]
OFFICE_HOURS = {day: WORKDAY for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = Calendar.parse("Asia/Jakarta", OFFICE_HOURS, ["2026-12-25"])


def wib(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


# ================================================================ business-time arithmetic (pure)


@pytest.mark.parametrize(("start", "seconds", "due"), [
    pytest.param(wib(25, 10), 30 * 60, wib(25, 10, 30), id="inside-one-span"),
    pytest.param(wib(25, 11, 30), 60 * 60, wib(25, 13, 30), id="skips-lunch"),
    pytest.param(wib(25, 16), 60 * 60, wib(25, 17), id="ends-at-closing-time-not-next-morning"),
    pytest.param(wib(25, 17, 30), 60, wib(26, 8, 1), id="after-closing-starts-next-morning"),
    pytest.param(wib(25, 6), 60 * 60, wib(25, 9), id="before-opening"),
    pytest.param(wib(27, 16), 2 * 3600, wib(30, 9), id="friday-over-the-weekend"),
    pytest.param(wib(28, 10), 30 * 60, wib(30, 8, 30), id="starts-on-saturday"),
    pytest.param(wib(24, 16, month=12), 2 * 3600, wib(28, 9, month=12), id="christmas-and-weekend"),
    pytest.param(wib(25, 10), 8 * 3600, wib(26, 10), id="one-business-day"),
    pytest.param(wib(25, 10), 0, wib(25, 10), id="nothing-to-add"),
    pytest.param(wib(30, 8, 30), -3600, wib(27, 16, 30), id="negative-counts-back-over-weekend"),
    pytest.param(wib(25, 13), -1800, wib(25, 11, 30), id="negative-counts-back-over-lunch"),
])
def test_add_business_seconds_on_the_office_calendar(start, seconds, due):
    # Given the office calendar, When a budget of business seconds is added to a start time
    result = add_business_seconds(start, seconds, OFFICE)

    # Then it runs out at the exact expected instant, returned in UTC
    assert result == due
    assert result.tzinfo is UTC


def test_add_business_seconds_without_calendar_is_around_the_clock():
    assert add_business_seconds(wib(27, 16), 2 * 3600, None) == wib(27, 18)
    assert add_business_seconds(wib(28, 23, 30), 3600, None) == wib(29, 0, 30)
    assert add_business_seconds(wib(25, 10), -600, None) == wib(25, 9, 50)


@pytest.mark.parametrize(("a", "b", "seconds"), [
    pytest.param(wib(25, 10), wib(25, 10, 30), 1800, id="inside-one-span"),
    pytest.param(wib(25, 10), wib(26, 10), 8 * 3600, id="wednesday-to-thursday"),
    pytest.param(wib(25, 11, 30), wib(25, 13, 30), 3600, id="lunch-does-not-count"),
    pytest.param(wib(25, 18), wib(26, 7), 0, id="night-does-not-count"),
    pytest.param(wib(27, 16), wib(30, 9), 2 * 3600, id="weekend-does-not-count"),
    pytest.param(wib(24, 16, month=12), wib(28, 9, month=12), 2 * 3600, id="holiday-does-not-count"),
    pytest.param(wib(23, 0), wib(30, 0), 5 * 8 * 3600, id="a-whole-week"),
    pytest.param(wib(25, 12), wib(25, 10), 0, id="reversed-is-zero"),
])
def test_business_seconds_between_on_the_office_calendar(a, b, seconds):
    assert business_seconds_between(a, b, OFFICE) == seconds


def test_business_seconds_between_without_calendar_counts_every_second():
    assert business_seconds_between(wib(27, 16), wib(30, 9), None) == 65 * 3600
    assert business_seconds_between(wib(25, 10), wib(25, 10).replace(second=59), None) == 59
    assert business_seconds_between(wib(25, 10), wib(25, 9), None) == 0


@pytest.mark.parametrize("start", [wib(25, 9, 17), wib(25, 12, 30), wib(27, 16, 59), wib(29, 3), wib(24, 11, month=12)])
@pytest.mark.parametrize("seconds", [1, 59 * 60, 4 * 3600, 8 * 3600 + 1, 5 * 8 * 3600 + 7])
def test_adding_then_measuring_gives_the_budget_back(start, seconds):
    due = add_business_seconds(start, seconds, OFFICE)

    back = add_business_seconds(due, -seconds, OFFICE)

    assert business_seconds_between(start, due, OFFICE) == seconds
    assert business_seconds_between(back, due, OFFICE) == seconds
    assert start <= back  # the same instant, or the opening time after a start in closed hours


def test_a_zone_with_daylight_saving_counts_the_hours_that_really_pass():
    # Given a round-the-clock calendar in Berlin, where 29 March 2026 has 23 hours and
    # 25 October 2026 has 25
    berlin = Calendar.parse("Europe/Berlin", {day: [["00:00", "24:00"]] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})

    # Then business time is real elapsed time
    assert business_seconds_between(datetime(2026, 3, 28, 12, tzinfo=BERLIN),
                                    datetime(2026, 3, 29, 12, tzinfo=BERLIN), berlin) == 23 * 3600
    assert business_seconds_between(datetime(2026, 10, 25, 0, tzinfo=BERLIN),
                                    datetime(2026, 10, 26, 0, tzinfo=BERLIN), berlin) == 25 * 3600
    # 22:00 CET + 5 hours = 04:00 CEST (02:00 UTC)
    assert add_business_seconds(datetime(2026, 3, 28, 22, tzinfo=BERLIN), 5 * 3600, berlin) == \
        datetime(2026, 3, 29, 2, tzinfo=UTC)


def test_office_hours_across_a_daylight_saving_change_stay_eight_hours():
    # Given Berlin office hours 01:00-03:00 (across the 02:00/03:00 change) and 09:00-17:00
    night = Calendar.parse("Europe/Berlin", {"sun": [["01:00", "03:00"], ["09:00", "17:00"]]})

    # Then on the day the clocks go back, 01:00-03:00 local lasts three real hours
    assert business_seconds_between(datetime(2026, 10, 25, 0, tzinfo=BERLIN),
                                    datetime(2026, 10, 26, 0, tzinfo=BERLIN), night) == (3 + 8) * 3600
    # and on the day they go forward, one
    assert business_seconds_between(datetime(2026, 3, 29, 0, tzinfo=BERLIN),
                                    datetime(2026, 3, 30, 0, tzinfo=BERLIN), night) == (1 + 8) * 3600


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_seconds(datetime(2026, 11, 25, 10), 60, OFFICE)
    with pytest.raises(ValueError):
        business_seconds_between(datetime(2026, 11, 25, 10), wib(25, 11), None)


# ================================================================ the desk (SQLite and PostgreSQL)


def receive(svc, body="Saldo saya terpotong dua kali", *, phone=PHONE, **kw):
    return svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone, body=body,
                                          **kw)


def policy(svc, name="Default", **kw):
    for key, value in (("first_response_minutes", 30), ("next_response_minutes", 60), ("resolution_minutes", 480)):
        kw.setdefault(key, value)
    return svc.desk.sla.create_policy(name, **kw)


def office(svc, name="Office"):
    return svc.desk.sla.create_calendar(name, hours=OFFICE_HOURS, holidays=["2026-12-25"])


def ticket(svc, ticket_id) -> Ticket:
    with svc.db.read() as s:
        return s.get(Ticket, ticket_id)


def targets(svc, ticket_id) -> list[SlaTarget]:
    with svc.db.read() as s:
        return list(s.scalars(select(SlaTarget).where(SlaTarget.ticket_id == ticket_id).order_by(SlaTarget.id)))


def sla_events(svc, ticket_id):
    with svc.db.read() as s:
        rows = s.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket_id).order_by(SlaEvent.id))
        return [(e.metric, e.kind, e.at, e.due_at, e.data) for e in rows]


def story(svc, ticket_id):
    return [(metric, kind, at) for metric, kind, at, _due, _data in sla_events(svc, ticket_id)]


def desk_events(svc, prefix="sla."):
    return [e for e in svc.desk.events.since(0, agent_id=None, team_ids=[], see_all=True)
            if e.kind.startswith(prefix)]


def count(svc, model) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def supervisor(svc):
    return svc.desk.viewer(svc.agents.create("lead@x.test", "supervisor"))


NONE = {"warned": 0, "breached": 0, "escalated": 0, "failed": 0}


# ---------------------------------------------------------------- calendars and policies


def test_create_calendar_stores_normalized_hours(svc):
    # When hours come unsorted and holidays in any order
    calendar_id = svc.desk.sla.create_calendar(
        "Jakarta office", hours={"wed": [["13:00", "17:00"], ["08:00", "12:00"]], "sat": [["09:00", "24:00"]]},
        holidays=["2026-12-25", "2026-08-17"])

    # Then they are stored sorted, with the Jakarta default time zone, and audited
    with svc.db.read() as s:
        row = s.get(BusinessCalendar, calendar_id)
        entry = audit.history(s, "business_calendar", calendar_id)
    assert (row.name, row.timezone) == ("Jakarta office", "Asia/Jakarta")
    assert row.hours == {"wed": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["09:00", "24:00"]]}
    assert row.holidays == ["2026-08-17", "2026-12-25"]
    assert [(e.action, e.actor_type) for e in entry] == [("sla.calendar_created", "system")]


@pytest.mark.parametrize(("kw", "field"), [
    pytest.param({"timezone": "Asia/Atlantis"}, "timezone", id="unknown-zone"),
    pytest.param({"hours": {"monday": WORKDAY}}, "hours", id="unknown-weekday"),
    pytest.param({"hours": {"mon": [["08:00", "25:00"]]}}, "hours", id="hour-25"),
    pytest.param({"hours": {"mon": [["8:00", "12:00"]]}}, "hours", id="not-hh-mm"),
    pytest.param({"hours": {"mon": [["24:00", "24:00"]]}}, "hours", id="24-as-start"),
    pytest.param({"hours": {"mon": [["17:00", "08:00"]]}}, "hours", id="ends-before-start"),
    pytest.param({"hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "hours", id="overlap"),
    pytest.param({"hours": {"mon": [["08:00"]]}}, "hours", id="half-span"),
    pytest.param({"hours": {}}, "hours", id="never-open"),
    pytest.param({"hours": {"mon": []}}, "hours", id="no-spans"),
    pytest.param({"holidays": ["2026-13-01"]}, "holidays", id="month-13"),
    pytest.param({"holidays": ["2026-W01-1"]}, "holidays", id="week-date"),
    pytest.param({"name": "  "}, "name", id="blank-name"),
])
def test_create_calendar_rejects_bad_input_and_stores_nothing(svc, kw, field):
    args = {"name": "Office", "hours": OFFICE_HOURS, **kw}
    name = args.pop("name")
    audit_before = count(svc, AuditEntry)

    with pytest.raises(ValidationFailed) as err:
        svc.desk.sla.create_calendar(name, **args)

    assert err.value.details["field"] == field
    assert count(svc, BusinessCalendar) == 0
    assert count(svc, AuditEntry) == audit_before


def test_calendar_names_are_unique(svc):
    first = office(svc)

    with pytest.raises(Conflict) as err:
        office(svc)

    assert err.value.code == "calendar_exists"
    with svc.db.read() as s:
        assert list(s.scalars(select(BusinessCalendar.id))) == [first]


def test_create_policy_stores_it(svc):
    calendar_id = office(svc)

    policy_id = policy(svc, "Plus urgent", priority="urgent", customer_tier="plus", calendar_id=calendar_id,
                       first_response_minutes=5, next_response_minutes=10, resolution_minutes=120,
                       warn_before_minutes=2, position=3)

    with svc.db.read() as s:
        row = s.get(SlaPolicy, policy_id)
    assert (row.name, row.priority, row.customer_tier, row.calendar_id, row.first_response_minutes,
            row.next_response_minutes, row.resolution_minutes, row.warn_before_minutes, row.position,
            row.active) == ("Plus urgent", "urgent", "plus", calendar_id, 5, 10, 120, 2, 3, True)


@pytest.mark.parametrize(("kw", "field"), [
    pytest.param({"first_response_minutes": 0}, "first_response_minutes", id="zero-minutes"),
    pytest.param({"next_response_minutes": -5}, "next_response_minutes", id="negative-minutes"),
    pytest.param({"resolution_minutes": "480"}, "resolution_minutes", id="text-minutes"),
    pytest.param({"resolution_minutes": True}, "resolution_minutes", id="bool-minutes"),
    pytest.param({"resolution_minutes": 1_000_000}, "resolution_minutes", id="more-than-a-year"),
    pytest.param({"warn_before_minutes": -1}, "warn_before_minutes", id="negative-warning"),
    pytest.param({"priority": "critical"}, "priority", id="unknown-priority"),
    pytest.param({"customer_tier": "gold"}, "customer_tier", id="unknown-tier"),
    pytest.param({"calendar_id": 999}, "calendar_id", id="unknown-calendar"),
    pytest.param({"name": ""}, "name", id="no-name"),
])
def test_create_policy_rejects_bad_input_and_stores_nothing(svc, kw, field):
    audit_before = count(svc, AuditEntry)

    with pytest.raises(ValidationFailed) as err:
        policy(svc, **kw)

    assert err.value.details["field"] == field
    assert count(svc, SlaPolicy) == 0
    assert count(svc, AuditEntry) == audit_before


def test_the_most_specific_active_policy_wins_then_the_lowest_position(svc, make_customer):
    # Given policies from general to specific, and a retired urgent policy
    any_policy = policy(svc, "Any")
    high = policy(svc, "High", priority="high")
    plus = policy(svc, "Plus", customer_tier="plus")
    policy(svc, "High plus (second)", priority="high", customer_tier="plus", position=5)
    high_plus = policy(svc, "High plus (first)", priority="high", customer_tier="plus", position=1)
    retired = policy(svc, "Urgent (retired)", priority="urgent")
    with svc.db.transaction() as s:
        s.execute(update(SlaPolicy).where(SlaPolicy.id == retired).values(active=False))
    make_customer(tier="plus", phone="+6281300000001")

    # When tickets of each kind arrive
    chosen = {
        label: ticket(svc, receive(svc, phone=phone, priority=priority, thread=label).ticket_id).sla_policy_id
        for label, phone, priority in (("basic normal", "+6281300000002", "normal"),
                                       ("basic high", "+6281300000003", "high"),
                                       ("plus normal", "+6281300000001", "normal"),
                                       ("plus high", "+6281300000001", "high"),
                                       ("basic urgent", "+6281300000004", "urgent"))
    }

    # Then
    assert chosen == {"basic normal": any_policy, "basic high": high, "plus normal": plus,
                      "plus high": high_plus, "basic urgent": any_policy}


def test_without_a_matching_policy_a_ticket_has_no_clock(svc):
    policy(svc, "Urgent only", priority="urgent")

    received = receive(svc)

    t = ticket(svc, received.ticket_id)
    assert (t.sla_policy_id, t.sla_state, t.sla_next_due_at) == (None, "none", None)
    assert targets(svc, received.ticket_id) == []
    assert sla_events(svc, received.ticket_id) == []


# ---------------------------------------------------------------- starting and fulfilling


def test_a_new_ticket_starts_first_response_and_resolution(svc):
    # Given a 24x7 policy: first response 30 min, resolution 8 h
    policy_id = policy(svc)

    # When a customer writes at 10:00
    received = receive(svc)

    # Then both clocks run from 10:00
    t = ticket(svc, received.ticket_id)
    assert (t.sla_policy_id, t.sla_state, t.sla_next_due_at, t.sla_paused_at) == \
        (policy_id, "active", wib(25, 10, 30), None)
    assert [(x.metric, x.target_minutes, x.started_at, x.due_at, x.used_seconds)
            for x in targets(svc, received.ticket_id)] == [
        ("first_response", 30, wib(25, 10), wib(25, 10, 30), 0),
        ("resolution", 480, wib(25, 10), wib(25, 18), 0),
    ]
    assert sla_events(svc, received.ticket_id) == [
        ("first_response", "activated", wib(25, 10), wib(25, 10, 30), {"policy_id": policy_id, "target_minutes": 30}),
        ("resolution", "activated", wib(25, 10), wib(25, 18), {"policy_id": policy_id, "target_minutes": 480}),
    ]


def test_due_times_follow_the_business_calendar(svc, clock):
    # Given an office-hours policy: first response 1 h, resolution 8 business hours
    policy(svc, calendar_id=office(svc), first_response_minutes=60)

    # When a customer writes on Wednesday at 16:30
    clock.set(wib(25, 16, 30))
    received = receive(svc)

    # Then the first response is due Thursday 08:30 and the resolution Thursday 16:30
    assert [(x.metric, x.due_at) for x in targets(svc, received.ticket_id)] == [
        ("first_response", wib(26, 8, 30)), ("resolution", wib(26, 16, 30))]
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(26, 8, 30)


def test_an_agent_reply_fulfils_the_first_response(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)

    # When the agent answers after 20 minutes
    clock.set(wib(25, 10, 20))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Kami cek dulu ya")

    # Then the first response is met with 1200 s used; the resolution clock drives the ticket
    first, resolution = targets(svc, received.ticket_id)
    assert (first.fulfilled_at, first.used_seconds, first.breached_at) == (wib(25, 10, 20), 1200, None)
    assert resolution.fulfilled_at is None
    assert sla_events(svc, received.ticket_id)[-1] == (
        "first_response", "fulfilled", wib(25, 10, 20), wib(25, 10, 30),
        {"used_seconds": 1200, "target_seconds": 1800, "breached": False})
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.sla_next_due_at, t.first_response_at) == ("active", wib(25, 18), wib(25, 10, 20))


def test_an_internal_note_is_not_a_response(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)

    clock.set(wib(25, 10, 20))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "cek mutasi dulu", internal=True)

    assert [x.fulfilled_at for x in targets(svc, received.ticket_id)] == [None, None]
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(25, 10, 30)


def test_a_customer_message_after_a_reply_starts_next_response_once(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 20))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Mohon kirim bukti transfer")

    # When the customer writes at 10:40 and again at 10:50
    clock.set(wib(25, 10, 40))
    receive(svc, "Ini buktinya")
    clock.set(wib(25, 10, 50))
    receive(svc, "Sudah saya kirim")

    # Then one next-response clock runs from 10:40, due 11:40
    running = [(x.metric, x.started_at, x.due_at) for x in targets(svc, received.ticket_id) if x.fulfilled_at is None]
    assert running == [("resolution", wib(25, 10), wib(25, 18)), ("next_response", wib(25, 10, 40), wib(25, 11, 40))]
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(25, 11, 40)

    # When the agent answers at 11:00
    clock.set(wib(25, 11))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Terima kasih, sudah kami terima")

    # Then it is met after 20 minutes
    next_response = targets(svc, received.ticket_id)[-1]
    assert (next_response.metric, next_response.fulfilled_at, next_response.used_seconds) == \
        ("next_response", wib(25, 11), 1200)
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(25, 18)


def test_a_second_message_before_any_reply_starts_no_next_response(svc, clock):
    policy(svc)
    received = receive(svc)

    clock.set(wib(25, 10, 5))
    receive(svc, "Halo? Ada orang?")

    assert [x.metric for x in targets(svc, received.ticket_id)] == ["first_response", "resolution"]
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(25, 10, 30)


# ---------------------------------------------------------------- waiting on the customer


def test_waiting_on_the_customer_pauses_and_her_answer_resumes(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 10))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Mohon kirim nomor transaksi")

    # When the agent sets the ticket to pending_customer at 10:10
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")

    # Then the resolution clock stops with 600 s used
    resolution = targets(svc, received.ticket_id)[1]
    assert (resolution.due_at, resolution.paused_at, resolution.used_seconds) == (None, wib(25, 10, 10), 600)
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.sla_paused_at, t.sla_next_due_at) == ("paused", wib(25, 10, 10), None)

    # When the customer answers two hours later
    clock.set(wib(25, 12, 10))
    receive(svc, "TRX-123")

    # Then the resolution has 7 h 50 min left (due 20:00) and a next response is due at 13:10
    t = ticket(svc, received.ticket_id)
    assert (t.status, t.sla_state, t.sla_paused_at, t.sla_next_due_at) == ("open", "active", None, wib(25, 13, 10))
    resolution, next_response = targets(svc, received.ticket_id)[1:]
    assert (resolution.due_at, resolution.paused_at, resolution.used_seconds) == (wib(25, 20), None, 600)
    assert (next_response.metric, next_response.due_at) == ("next_response", wib(25, 13, 10))
    assert [e for e in sla_events(svc, received.ticket_id) if e[0] == "resolution"] == [
        ("resolution", "activated", wib(25, 10), wib(25, 18), {"policy_id": t.sla_policy_id, "target_minutes": 480}),
        ("resolution", "paused", wib(25, 10, 10), None, {"used_seconds": 600}),
        ("resolution", "resumed", wib(25, 12, 10), wib(25, 20), {"used_seconds": 600}),
    ]


def test_pause_and_resume_count_only_business_hours(svc, clock, supervisor):
    # Given office hours; resolution due Thursday 10:00 for a ticket from Wednesday 10:00
    policy(svc, calendar_id=office(svc), first_response_minutes=60)
    received = receive(svc)
    assert targets(svc, received.ticket_id)[1].due_at == wib(26, 10)
    clock.set(wib(25, 10, 30))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Mohon kirim foto KTP")

    # When it waits on the customer from Wednesday 11:00 to Thursday 09:00
    clock.set(wib(25, 11))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")
    clock.set(wib(26, 9))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "open")

    # Then 1 h was used and 7 business hours are left: due Thursday 17:00
    resolution = targets(svc, received.ticket_id)[1]
    assert (resolution.used_seconds, resolution.due_at) == (3600, wib(26, 17))
    assert ticket(svc, received.ticket_id).sla_next_due_at == wib(26, 17)


def test_a_paused_ticket_can_still_get_its_first_response(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 5))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")

    # When the agent replies while the ticket waits
    clock.set(wib(25, 11))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Masih menunggu data Anda")

    # Then the first response is met with the 300 s used before the pause
    first = targets(svc, received.ticket_id)[0]
    assert (first.fulfilled_at, first.used_seconds, first.paused_at) == (wib(25, 11), 300, None)
    assert ticket(svc, received.ticket_id).sla_state == "paused"


def test_on_hold_does_not_pause(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 10))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Kami teruskan ke tim bank")

    clock.set(wib(25, 10, 20))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "on_hold")

    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.sla_paused_at, t.sla_next_due_at) == ("active", None, wib(25, 18))
    assert [kind for _m, kind, _at in story(svc, received.ticket_id)] == ["activated", "activated", "fulfilled"]


# ---------------------------------------------------------------- solving, reopening, closing, merging


def test_solving_fulfils_resolution_and_a_reopen_starts_a_new_one(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 20))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Dana sudah kembali")
    clock.set(wib(25, 10, 30))
    receive(svc, "Benar, terima kasih!")

    # When the agent solves it at 10:45, with a next response still open
    clock.set(wib(25, 10, 45))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")

    # Then resolution is met in 45 min, the next response is stopped (not met), and nothing runs
    assert [(x.metric, x.fulfilled_at, x.due_at, x.used_seconds) for x in targets(svc, received.ticket_id)] == [
        ("first_response", wib(25, 10, 20), wib(25, 10, 30), 1200),
        ("resolution", wib(25, 10, 45), wib(25, 18), 2700),
        ("next_response", None, None, 900),
    ]
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.sla_next_due_at) == ("met", None)
    assert sla_events(svc, received.ticket_id)[-2:] == [
        ("resolution", "fulfilled", wib(25, 10, 45), wib(25, 18),
         {"used_seconds": 2700, "target_seconds": 28800, "breached": False}),
        ("next_response", "stopped", wib(25, 10, 45), wib(25, 11, 30), {"used_seconds": 900, "reason": "solved"}),
    ]

    # When the customer writes again at 11:00
    clock.set(wib(25, 11))
    receive(svc, "Eh, saldonya terpotong lagi")

    # Then the ticket reopens with a fresh resolution clock and a next response
    t = ticket(svc, received.ticket_id)
    assert (t.status, t.sla_state, t.sla_next_due_at) == ("open", "active", wib(25, 12))
    assert [(x.metric, x.started_at, x.due_at) for x in targets(svc, received.ticket_id)[3:]] == [
        ("resolution", wib(25, 11), wib(25, 19)), ("next_response", wib(25, 11), wib(25, 12))]


def test_solving_without_a_reply_stops_the_first_response(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)

    clock.set(wib(25, 10, 10))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")

    first = targets(svc, received.ticket_id)[0]
    assert (first.fulfilled_at, first.due_at, first.paused_at, first.used_seconds) == (None, None, None, 600)
    assert story(svc, received.ticket_id)[2:] == [
        ("first_response", "stopped", wib(25, 10, 10)), ("resolution", "fulfilled", wib(25, 10, 10))]


def test_solving_a_waiting_ticket_fulfils_with_the_time_used_before_the_pause(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 15))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Sudah kami proses")
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")

    clock.set(wib(26, 10))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")

    resolution = targets(svc, received.ticket_id)[1]
    assert (resolution.fulfilled_at, resolution.used_seconds, resolution.paused_at) == (wib(26, 10), 900, None)
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.sla_paused_at, t.sla_next_due_at) == ("met", None, None)
    assert [kind for metric, kind, _at in story(svc, received.ticket_id) if metric == "resolution"] == [
        "activated", "paused", "fulfilled"]


def test_closing_a_solved_ticket_changes_no_clock(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    clock.set(wib(25, 10, 10))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")
    before = sla_events(svc, received.ticket_id)

    clock.set(wib(25, 11))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "closed")

    assert sla_events(svc, received.ticket_id) == before
    assert ticket(svc, received.ticket_id).sla_state == "met"


def test_merging_stops_every_clock_of_the_merged_ticket(svc, clock, supervisor):
    policy(svc)
    source = receive(svc, "Top-up gagal", thread="a")
    target = receive(svc, "Top-up saya gagal lagi", thread="b")
    target_before = [(x.metric, x.due_at) for x in targets(svc, target.ticket_id)]

    clock.set(wib(25, 10, 5))
    svc.desk.tickets.merge(supervisor, source.ticket_id, target.ticket_id, reason="same case")

    t = ticket(svc, source.ticket_id)
    assert (t.status, t.sla_state, t.sla_next_due_at) == ("merged", "none", None)
    assert [(x.due_at, x.fulfilled_at) for x in targets(svc, source.ticket_id)] == [(None, None), (None, None)]
    assert [e[1:3] + (e[4],) for e in sla_events(svc, source.ticket_id)[2:]] == [
        ("stopped", wib(25, 10, 5), {"used_seconds": 300, "reason": "merged"}),
        ("stopped", wib(25, 10, 5), {"used_seconds": 300, "reason": "merged"}),
    ]
    assert [(x.metric, x.due_at) for x in targets(svc, target.ticket_id)] == target_before


def test_a_split_ticket_gets_its_own_clocks(svc, clock, supervisor):
    policy(svc)
    received = receive(svc, "Top-up gagal")
    clock.set(wib(25, 10, 10))
    second = receive(svc, "Satu lagi: promo tidak masuk")

    clock.set(wib(25, 10, 20))
    new = svc.desk.tickets.split(supervisor, received.ticket_id, [second.message_id])

    assert [(x.metric, x.started_at, x.due_at) for x in targets(svc, new.id)] == [
        ("first_response", wib(25, 10, 20), wib(25, 10, 50)), ("resolution", wib(25, 10, 20), wib(25, 18, 20))]
    assert ticket(svc, new.id).sla_next_due_at == wib(25, 10, 50)


# ---------------------------------------------------------------- priority changes


def test_a_priority_change_keeps_the_time_used_under_the_new_targets(svc, clock, supervisor):
    # Given normal: 60 min / 8 h, high: 30 min / 2 h
    policy(svc, "Normal", priority="normal", first_response_minutes=60)
    high = policy(svc, "High", priority="high", first_response_minutes=30, next_response_minutes=30,
                  resolution_minutes=120)
    received = receive(svc)

    # When the ticket becomes high at 10:20
    clock.set(wib(25, 10, 20))
    svc.desk.tickets.update(supervisor, received.ticket_id, priority="high")

    # Then 20 minutes count as used: first response due 10:30, resolution 12:00
    t = ticket(svc, received.ticket_id)
    assert (t.sla_policy_id, t.sla_next_due_at) == (high, wib(25, 10, 30))
    assert [(x.metric, x.target_minutes, x.started_at, x.due_at) for x in targets(svc, received.ticket_id)] == [
        ("first_response", 30, wib(25, 10), wib(25, 10, 30)), ("resolution", 120, wib(25, 10), wib(25, 12))]
    assert sla_events(svc, received.ticket_id)[2:] == [
        ("first_response", "changed", wib(25, 10, 20), wib(25, 10, 30),
         {"policy_id": high, "old_target_minutes": 60, "target_minutes": 30, "used_seconds": 1200}),
        ("resolution", "changed", wib(25, 10, 20), wib(25, 12),
         {"policy_id": high, "old_target_minutes": 480, "target_minutes": 120, "used_seconds": 1200}),
    ]


def test_a_priority_change_can_put_the_due_time_in_the_past(svc, clock, supervisor):
    policy(svc, "Normal", priority="normal", first_response_minutes=60)
    policy(svc, "High", priority="high", first_response_minutes=30)
    received = receive(svc)

    # When a 45-minute-old ticket gets a 30-minute first response target
    clock.set(wib(25, 10, 45))
    svc.desk.tickets.update(supervisor, received.ticket_id, priority="high")

    # Then it was due at 10:30, and the check breaches it as of then
    assert targets(svc, received.ticket_id)[0].due_at == wib(25, 10, 30)
    assert svc.desk.sla.check(clock.now()) == {**NONE, "breached": 1, "escalated": 1}
    assert sla_events(svc, received.ticket_id)[-1][:4] == ("first_response", "breached", wib(25, 10, 45),
                                                           wib(25, 10, 30))


def test_a_priority_change_while_waiting_applies_on_resume(svc, clock, supervisor):
    policy(svc, "Normal", priority="normal")
    policy(svc, "High", priority="high", resolution_minutes=120)
    received = receive(svc)
    clock.set(wib(25, 10, 10))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Mohon tunggu")
    clock.set(wib(25, 10, 30))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")

    clock.set(wib(25, 10, 40))
    svc.desk.tickets.update(supervisor, received.ticket_id, priority="high")
    resolution = targets(svc, received.ticket_id)[1]
    assert (resolution.target_minutes, resolution.due_at, resolution.used_seconds) == (120, None, 1800)

    clock.set(wib(25, 11))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "open")

    # 2 h target, 30 min used: due 12:30
    assert targets(svc, received.ticket_id)[1].due_at == wib(25, 12, 30)


def test_a_priority_without_policy_stops_the_clocks_and_one_with_a_policy_starts_them(svc, clock, supervisor):
    high = policy(svc, "High", priority="high")
    received = receive(svc, priority="high")

    # When the ticket drops to low, which no policy covers
    clock.set(wib(25, 10, 10))
    svc.desk.tickets.update(supervisor, received.ticket_id, priority="low")

    # Then its clocks stop
    t = ticket(svc, received.ticket_id)
    assert (t.sla_policy_id, t.sla_state, t.sla_next_due_at) == (None, "none", None)
    assert [kind for _m, kind, _at in story(svc, received.ticket_id)] == ["activated", "activated", "stopped",
                                                                         "stopped"]

    # When it goes back to high at 10:20: fresh clocks from 10:20
    clock.set(wib(25, 10, 20))
    svc.desk.tickets.update(supervisor, received.ticket_id, priority="high")

    t = ticket(svc, received.ticket_id)
    assert (t.sla_policy_id, t.sla_state, t.sla_next_due_at) == (high, "active", wib(25, 10, 50))
    assert [(x.metric, x.due_at) for x in targets(svc, received.ticket_id)[2:]] == [
        ("first_response", wib(25, 10, 50)), ("resolution", wib(25, 18, 20))]


# ---------------------------------------------------------------- the periodic check


def _assign(svc, ticket_id, agent_id):
    # Routing is built separately; here the assignee is set directly.
    with svc.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.id == ticket_id).values(assignee_id=agent_id))


def test_check_warns_then_breaches_and_escalates_once(svc, clock):
    # Given a 30-minute first response, warned 10 minutes ahead, on a ticket assigned to Ani
    policy_id = policy(svc, warn_before_minutes=10)
    ani = svc.agents.create("ani@x.test", "agent")
    received = receive(svc)
    _assign(svc, received.ticket_id, ani.id)

    # When the check runs at 10:19: nothing is due soon
    assert svc.desk.sla.check(wib(25, 10, 19)) == NONE

    # When it runs at 10:20 (twice)
    assert svc.desk.sla.check(wib(25, 10, 20)) == {**NONE, "warned": 1}
    assert svc.desk.sla.check(wib(25, 10, 20)) == NONE

    # Then Ani is warned once
    assert [(e.kind, e.agent_id, e.payload) for e in desk_events(svc)] == [
        ("sla.warning", ani.id, {"metric": "first_response", "due_at": "2026-11-25T03:30:00+00:00"})]
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.priority) == ("warning", "normal")

    # When it runs at 10:30 (twice)
    assert svc.desk.sla.check(wib(25, 10, 30)) == {**NONE, "breached": 1, "escalated": 1}
    assert svc.desk.sla.check(wib(25, 10, 30)) == NONE

    # Then the breach is recorded once, the priority goes up one step (the policy stays), it is
    # audited, and every agent is told
    t = ticket(svc, received.ticket_id)
    assert (t.sla_state, t.priority, t.sla_policy_id, t.updated_at) == ("breached", "high", policy_id, wib(25, 10, 30))
    first = targets(svc, received.ticket_id)[0]
    assert (first.warned_at, first.breached_at, first.fulfilled_at) == (wib(25, 10, 20), wib(25, 10, 30), None)
    assert story(svc, received.ticket_id)[2:] == [
        ("first_response", "warned", wib(25, 10, 20)), ("first_response", "breached", wib(25, 10, 30))]
    with svc.db.read() as s:
        entries = [(e.action, e.actor_type, e.details) for e in audit.history(s, "ticket", received.ticket_id)
                   if e.action == "sla.breached"]
    assert entries == [("sla.breached", "system", {"metric": "first_response", "due_at": "2026-11-25T03:30:00+00:00",
                                                   "priority": ["normal", "high"]})]
    breached = [e for e in desk_events(svc) if e.kind == "sla.breached"]
    assert [(e.agent_id, e.team_id, e.payload) for e in breached] == [
        (None, None, {"metric": "first_response", "due_at": "2026-11-25T03:30:00+00:00", "assignee_id": ani.id,
                      "team": None, "priority": ["normal", "high"]})]
    budi = svc.agents.create("budi@x.test", "agent")
    assert [e.kind for e in svc.desk.events.since(0, agent_id=budi.id, team_ids=[], see_all=False)
            if e.kind.startswith("sla.")] == ["sla.breached"]
    # (the escalation is a change of the ticket like any other, by the system: its own event and audit row)
    assert [e.payload["changes"] for e in desk_events(svc, "ticket.updated")] == [
        {"sla_state": ["active", "warning"]}, {"priority": ["normal", "high"]}, {"sla_state": ["warning", "breached"]}]
    with svc.db.read() as s:
        assert [(e.actor_type, e.reason, e.details) for e in audit.history(s, "ticket", received.ticket_id)
                if e.action == "ticket.updated"] == [
            ("system", "SLA first_response breached", {"changes": {"priority": ["normal", "high"]}})]

    # When the resolution (due 18:00) nears: only it is warned; the first response stays breached once
    assert svc.desk.sla.check(wib(25, 17, 50)) == {**NONE, "warned": 1}
    assert story(svc, received.ticket_id)[4:] == [("resolution", "warned", wib(25, 17, 50))]
    assert (ticket(svc, received.ticket_id).sla_state, ticket(svc, received.ticket_id).priority) == ("breached", "high")


def test_a_late_check_breaches_without_a_useless_warning(svc):
    policy(svc, warn_before_minutes=10)
    received = receive(svc)

    assert svc.desk.sla.check(wib(25, 10, 31)) == {**NONE, "breached": 1, "escalated": 1}

    assert story(svc, received.ticket_id)[2:] == [("first_response", "breached", wib(25, 10, 31))]
    assert [e.kind for e in desk_events(svc)] == ["sla.breached"]


def test_escalation_stops_at_urgent(svc):
    policy(svc)
    received = receive(svc, priority="urgent")

    assert svc.desk.sla.check(wib(25, 10, 30)) == {**NONE, "breached": 1}

    assert ticket(svc, received.ticket_id).priority == "urgent"
    assert [e.payload["changes"] for e in desk_events(svc, "ticket.updated")] == [
        {"sla_state": ["active", "breached"]}]
    assert [e.payload["priority"] for e in desk_events(svc)] == [["urgent", "urgent"]]


def test_a_zero_warning_means_no_warning(svc):
    policy(svc, warn_before_minutes=0)
    receive(svc)

    assert svc.desk.sla.check(wib(25, 10, 29)) == NONE
    assert svc.desk.sla.check(wib(25, 10, 30)) == {**NONE, "breached": 1, "escalated": 1}


def test_paused_and_fulfilled_clocks_are_not_checked(svc, clock, supervisor):
    policy(svc, warn_before_minutes=10)
    received = receive(svc)
    clock.set(wib(25, 10, 5))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")

    # While waiting: nothing, however late
    assert svc.desk.sla.check(wib(26, 10)) == NONE

    # Resumed at 12:00 with 25 minutes left: warned at 12:15, breached at 12:25
    clock.set(wib(25, 12))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "open")
    assert svc.desk.sla.check(wib(25, 12, 14)) == NONE
    assert svc.desk.sla.check(wib(25, 12, 15)) == {**NONE, "warned": 1}
    clock.set(wib(25, 12, 20))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Maaf menunggu")
    assert svc.desk.sla.check(wib(25, 12, 25)) == NONE
    assert ticket(svc, received.ticket_id).sla_state == "active"


def test_a_late_reply_is_fulfilled_as_breached(svc, clock, supervisor):
    policy(svc)
    received = receive(svc)
    assert svc.desk.sla.check(wib(25, 10, 30)) == {**NONE, "breached": 1, "escalated": 1}

    clock.set(wib(25, 10, 40))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Maaf terlambat")
    assert ticket(svc, received.ticket_id).sla_state == "active"  # only the resolution runs, on time
    clock.set(wib(25, 11))
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")

    assert sla_events(svc, received.ticket_id)[3] == (
        "first_response", "fulfilled", wib(25, 10, 40), wib(25, 10, 30),
        {"used_seconds": 2400, "target_seconds": 1800, "breached": True})
    assert ticket(svc, received.ticket_id).sla_state == "breached"


def test_the_periodic_job_runs_the_check_at_the_clock_time(svc, clock):
    policy(svc)
    receive(svc)

    clock.set(wib(25, 10, 30))
    assert svc.tasks["sla_check"].call_local() == {**NONE, "breached": 1, "escalated": 1}
    assert svc.tasks["sla_check"].call_local() == NONE


# ---------------------------------------------------------------- reports from events


def test_the_events_tell_the_whole_story(svc, clock, supervisor):
    policy(svc, warn_before_minutes=10)
    received = receive(svc)
    svc.desk.sla.check(wib(25, 10, 20))
    clock.set(wib(25, 10, 25))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Sedang kami cek")
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "pending_customer")
    clock.set(wib(25, 14))
    receive(svc, "Ini datanya")
    clock.set(wib(25, 14, 30))
    svc.desk.conversations.reply(supervisor, received.ticket_id, "Dana sudah dikembalikan")
    svc.desk.tickets.set_status(supervisor, received.ticket_id, "solved")

    assert story(svc, received.ticket_id) == [
        ("first_response", "activated", wib(25, 10)),
        ("resolution", "activated", wib(25, 10)),
        ("first_response", "warned", wib(25, 10, 20)),
        ("first_response", "fulfilled", wib(25, 10, 25)),
        ("resolution", "paused", wib(25, 10, 25)),
        ("resolution", "resumed", wib(25, 14)),
        ("next_response", "activated", wib(25, 14)),
        ("next_response", "fulfilled", wib(25, 14, 30)),
        ("resolution", "fulfilled", wib(25, 14, 30)),
    ]
    # Business time used, rebuilt from the events alone: 25 min before the pause + 30 after
    fulfilled = {m: data for m, kind, _at, _due, data in sla_events(svc, received.ticket_id) if kind == "fulfilled"}
    assert {m: d["used_seconds"] for m, d in fulfilled.items()} == {
        "first_response": 1500, "next_response": 1800, "resolution": 3300}
    assert ticket(svc, received.ticket_id).sla_state == "met"
