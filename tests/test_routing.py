"""Routing: skills (area + language), presence and capacity, least-loaded and round robin, the
overflow queue and its drain, hand-over when an agent goes offline, the supervisor's override, and
two tickets racing for one seat. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gopaycare.desk.models import Agent, DeskEvent, Ticket
from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import START
from tests.helpers import race

ROUTING_EVENTS = ("ticket.assigned", "ticket.unassigned", "ticket.queued", "agent.presence")
ROUNDS = 3


# ---------------------------------------------------------------- builders and readers


@pytest.fixture
def make_agent(svc):
    """Builder: an agent with skills and capacity, online unless told otherwise."""
    counter = iter(range(1, 1000))

    def build(*, areas=(), languages=(), capacity=5, presence="online", role="agent"):
        agent = svc.agents.create(f"agent{next(counter)}@gopay.example", role, areas=list(areas),
                                  languages=list(languages), capacity=capacity)
        if presence != "offline":
            svc.desk.routing.set_presence(agent.id, presence, actor=Actor.system())
        return agent

    return build


@pytest.fixture
def make_ticket(svc, clock):
    """Builder: a chat from a new phone number (so a new ticket); the clock moves a minute after each."""
    counter = iter(range(1, 10_000))

    def build(*, area="refund_dispute", language="id"):
        received = svc.desk.conversations.receive(
            channel="chat", identity_kind="phone", identity_value=f"+6281234{next(counter):06d}",
            body="Refund saya belum masuk", area=area, language=language)
        clock.advance(minutes=1)
        return received.ticket_id

    return build


def ticket(svc, ticket_id: int) -> Ticket:
    with svc.db.read() as s:
        return s.get(Ticket, ticket_id)


def assignees(svc, *ticket_ids: int) -> list[int | None]:
    return [ticket(svc, t).assignee_id for t in ticket_ids]


def load(svc, agent_id: int) -> int:
    with svc.db.read() as s:
        return svc.desk.routing.load(s, agent_id)


def presence(svc, agent_id: int) -> str:
    with svc.db.read() as s:
        return s.get(Agent, agent_id).presence


def events(svc, after: int = 0) -> list[tuple[str, int | None, int | None, int | None]]:
    """Routing events after a cursor: (kind, ticket, agent it is for, team it is for)."""
    with svc.db.read() as s:
        rows = s.scalars(select(DeskEvent).where(DeskEvent.id > after, DeskEvent.kind.in_(ROUTING_EVENTS))
                         .order_by(DeskEvent.id))
        return [(e.kind, e.ticket_id, e.agent_id, e.team_id) for e in rows]


def payloads(svc, kind: str, after: int = 0) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return list(s.scalars(select(DeskEvent.payload).where(DeskEvent.id > after, DeskEvent.kind == kind)
                              .order_by(DeskEvent.id)))


def last_audit_id(svc) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.coalesce(func.max(AuditEntry.id), 0))).scalar_one()


def audits(svc, *actions: str, after: int = 0) -> list[tuple[str, str, str, str | None, str | None, dict]]:
    """(action, subject, actor type, actor id, reason, details) after a cursor."""
    with svc.db.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.id > after, AuditEntry.action.in_(actions))
                         .order_by(AuditEntry.id))
        return [(a.action, a.subject_id, a.actor_type, a.actor_id, a.reason, a.details) for a in rows]


def solve(svc, agent, ticket_id: int) -> None:
    svc.desk.tickets.set_status(svc.desk.viewer(agent), ticket_id, "solved")


# ---------------------------------------------------------------- skills and presence


def test_a_ticket_goes_to_the_agent_with_its_area_and_language(svc, make_agent, make_ticket):
    refund_en = make_agent(areas=["refund_dispute"], languages=["en"])
    account_id = make_agent(areas=["account"], languages=["id"])
    refund_id = make_agent(areas=["refund_dispute"], languages=["id"])
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)

    refund_in_id = make_ticket(area="refund_dispute", language="id")
    account_in_id = make_ticket(area="account", language="id")
    refund_in_en = make_ticket(area="refund_dispute", language="en")

    assert assignees(svc, refund_in_id, account_in_id, refund_in_en) == [refund_id.id, account_id.id, refund_en.id]
    assert ticket(svc, refund_in_id).updated_at == START
    assert events(svc, cursor) == [("ticket.assigned", refund_in_id, refund_id.id, None),
                                   ("ticket.assigned", account_in_id, account_id.id, None),
                                   ("ticket.assigned", refund_in_en, refund_en.id, None)]
    assert payloads(svc, "ticket.assigned", cursor)[0] == {"previous_assignee_id": None,
                                                           "reason": "routed (least_loaded)"}
    assert audits(svc, "ticket.assigned", after=audit_cursor) == [
        ("ticket.assigned", str(refund_in_id), "system", None, "routed (least_loaded)",
         {"old": None, "new": refund_id.id}),
        ("ticket.assigned", str(account_in_id), "system", None, "routed (least_loaded)",
         {"old": None, "new": account_id.id}),
        ("ticket.assigned", str(refund_in_en), "system", None, "routed (least_loaded)",
         {"old": None, "new": refund_en.id}),
    ]
    with svc.db.read() as s:
        assert s.get(Agent, refund_id.id).last_assigned_at == START


def test_an_agent_without_areas_or_languages_takes_anything_a_specialist_cannot(svc, make_agent, make_ticket):
    make_agent(areas=["refund_dispute"], languages=["id"])
    generalist = make_agent()

    promotion_in_chinese = make_ticket(area="promotion", language="zh-CN")

    assert assignees(svc, promotion_in_chinese) == [generalist.id]


def test_away_and_offline_agents_get_no_tickets(svc, make_agent, make_ticket):
    away = make_agent(areas=["refund_dispute"], presence="away")
    offline = make_agent(areas=["refund_dispute"], presence="offline")

    queued = make_ticket()

    assert assignees(svc, queued) == [None]
    assert (load(svc, away.id), load(svc, offline.id)) == (0, 0)
    assert (presence(svc, away.id), presence(svc, offline.id)) == ("away", "offline")


def test_an_agent_never_gets_more_open_tickets_than_her_capacity(svc, make_agent, make_ticket):
    agent = make_agent(capacity=2)
    cursor = svc.desk.events.last_id()

    first, second, third = make_ticket(), make_ticket(), make_ticket()

    assert assignees(svc, first, second, third) == [agent.id, agent.id, None]
    assert load(svc, agent.id) == 2
    assert events(svc, cursor) == [("ticket.assigned", first, agent.id, None),
                                   ("ticket.assigned", second, agent.id, None),
                                   ("ticket.queued", third, None, None)]


# ---------------------------------------------------------------- strategies


def test_least_loaded_breaks_ties_by_oldest_assignment_then_id(svc, make_agent, make_ticket):
    a, b, c = make_agent(), make_agent(), make_agent()

    tickets = [make_ticket() for _ in range(5)]

    # Never-assigned agents first (by id), then the one whose last ticket is oldest.
    assert assignees(svc, *tickets) == [a.id, b.id, c.id, a.id, b.id]
    assert [load(svc, x.id) for x in (a, b, c)] == [2, 2, 1]


@pytest.mark.parametrize(("strategy", "expected"), [("least_loaded", "a"), ("round_robin", "b")])
def test_least_loaded_prefers_the_lightest_agent_and_round_robin_the_longest_waiting(
        svc, make_agent, make_ticket, strategy, expected):
    # Given: a has no open ticket but got the latest one; b has one open ticket, given earlier.
    agents = {"a": make_agent(), "b": make_agent()}
    first, second, third = make_ticket(), make_ticket(), make_ticket()
    assert assignees(svc, first, second, third) == [agents["a"].id, agents["b"].id, agents["a"].id]
    solve(svc, agents["a"], first)
    solve(svc, agents["a"], third)
    assert (load(svc, agents["a"].id), load(svc, agents["b"].id)) == (0, 1)

    svc.desk.routing.strategy = strategy
    fourth = make_ticket()

    assert assignees(svc, fourth) == [agents[expected].id]
    with svc.db.read() as s:
        assert s.scalars(select(AuditEntry.reason).where(AuditEntry.action == "ticket.assigned",
                                                         AuditEntry.subject_id == str(fourth))).all() \
            == [f"routed ({strategy})"]


def test_round_robin_rotates_through_the_agents(svc, make_agent, make_ticket):
    svc.desk.routing.strategy = "round_robin"
    a, b, c = make_agent(), make_agent(), make_agent()

    tickets = [make_ticket() for _ in range(5)]

    assert assignees(svc, *tickets) == [a.id, b.id, c.id, a.id, b.id]


def test_an_unknown_strategy_is_refused(svc):
    with pytest.raises(ValidationFailed):
        svc.desk.routing.strategy = "random"

    assert svc.desk.routing.strategy == "least_loaded"


# ---------------------------------------------------------------- the overflow queue


def test_a_ticket_nobody_can_take_waits_in_the_queue_of_the_matching_team(svc, make_agent, make_ticket):
    any_language = svc.agents.create_team("Refunds (any language)", areas=["refund_dispute"], languages=[])
    indonesian = svc.agents.create_team("Refunds Indonesia", areas=["refund_dispute"], languages=["id"])
    svc.agents.create_team("Accounts", areas=["account"], languages=[])
    make_agent(areas=["refund_dispute"], languages=["id"], presence="away")
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)

    refund_id, refund_en, promotion = (make_ticket(language="id"), make_ticket(language="en"),
                                       make_ticket(area="promotion"))

    assert assignees(svc, refund_id, refund_en, promotion) == [None, None, None]
    assert [ticket(svc, t).team_id for t in (refund_id, refund_en, promotion)] == [indonesian, any_language, None]
    assert events(svc, cursor) == [("ticket.queued", refund_id, None, indonesian),
                                   ("ticket.queued", refund_en, None, any_language),
                                   ("ticket.queued", promotion, None, None)]
    assert payloads(svc, "ticket.queued", cursor)[0] == {"area": "refund_dispute", "language": "id"}
    assert audits(svc, "ticket.queued", "ticket.assigned", after=audit_cursor) == [
        ("ticket.queued", str(refund_id), "system", None, "no agent available", {"team_id": indonesian}),
        ("ticket.queued", str(refund_en), "system", None, "no agent available", {"team_id": any_language}),
        ("ticket.queued", str(promotion), "system", None, "no agent available", {"team_id": None}),
    ]


def test_the_queue_drains_oldest_first_when_an_agent_comes_online(svc, make_agent, make_ticket, clock):
    chinese = make_ticket(area="account", language="zh-CN")
    oldest, middle, newest = make_ticket(), make_ticket(), make_ticket()
    agent = make_agent(areas=["refund_dispute"], languages=["id"], capacity=2, presence="offline")
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)
    now = clock.now()

    svc.desk.routing.set_presence(agent.id, "online", actor=Actor.agent(agent.id))

    assert presence(svc, agent.id) == "online"
    assert assignees(svc, oldest, middle, newest, chinese) == [agent.id, agent.id, None, None]
    assert events(svc, cursor) == [("agent.presence", None, agent.id, None),
                                   ("ticket.assigned", oldest, agent.id, None),
                                   ("ticket.assigned", middle, agent.id, None)]
    assert payloads(svc, "agent.presence", cursor) == [{"presence": "online", "previous": "offline"}]
    assert audits(svc, "agent.presence_changed", "ticket.assigned", after=audit_cursor) == [
        ("agent.presence_changed", str(agent.id), "agent", str(agent.id), None, {"old": "offline", "new": "online"}),
        ("ticket.assigned", str(oldest), "system", None, "routed (least_loaded)", {"old": None, "new": agent.id}),
        ("ticket.assigned", str(middle), "system", None, "routed (least_loaded)", {"old": None, "new": agent.id}),
    ]
    assert ticket(svc, oldest).updated_at == now


def test_the_queue_drains_when_an_agent_solves_a_ticket(svc, make_agent, make_ticket):
    agent = make_agent(capacity=1)
    first, second = make_ticket(), make_ticket()
    assert assignees(svc, first, second) == [agent.id, None]
    assert svc.tasks["drain_queue"].call_local() == 0

    solve(svc, agent, first)

    # The freed seat goes to the queued ticket as soon as the solve commits, not a minute later
    assert assignees(svc, first, second) == [agent.id, agent.id]
    assert load(svc, agent.id) == 1
    assert svc.tasks["drain_queue"].call_local() == 0


def test_the_queue_passes_over_tickets_nobody_online_can_take(svc, make_agent, make_ticket, clock):
    chinese = make_ticket(area="refund_dispute", language="zh-CN")
    indonesian = make_ticket(area="refund_dispute", language="id")
    make_agent(areas=["refund_dispute"], languages=["id"])  # comes online and drains at once

    assert svc.desk.routing.drain_queue(clock.now()) == 0
    assert assignees(svc, chinese) == [None]
    assert ticket(svc, indonesian).assignee_id is not None


# ---------------------------------------------------------------- going offline


def test_going_offline_hands_open_tickets_on_or_back_to_the_queue(svc, make_agent, make_ticket, clock):
    leaving = make_agent(areas=["refund_dispute"])
    first, second, waiting = make_ticket(), make_ticket(), make_ticket()
    svc.desk.tickets.set_status(svc.desk.viewer(leaving), waiting, "pending_customer")
    staying = make_agent(areas=["refund_dispute"], capacity=1)
    assert assignees(svc, first, second, waiting) == [leaving.id, leaving.id, leaving.id]
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)
    now = clock.now()

    svc.desk.routing.set_presence(leaving.id, "offline", actor=Actor.agent(leaving.id))

    # The oldest open ticket fills the one free seat; the next waits; a ticket waiting on the customer stays.
    assert assignees(svc, first, second, waiting) == [staying.id, None, leaving.id]
    assert (load(svc, leaving.id), load(svc, staying.id)) == (0, 1)
    assert presence(svc, leaving.id) == "offline"
    assert events(svc, cursor) == [("agent.presence", None, leaving.id, None),
                                   ("ticket.assigned", first, staying.id, None),
                                   ("ticket.unassigned", first, leaving.id, None),
                                   ("ticket.assigned", second, None, None),
                                   ("ticket.unassigned", second, leaving.id, None),
                                   ("ticket.queued", second, None, None)]
    assert payloads(svc, "ticket.unassigned", cursor) == [
        {"new_assignee_id": staying.id, "reason": "routed (least_loaded)"},
        {"new_assignee_id": None, "reason": f"agent {leaving.id} went offline"},
    ]
    assert audits(svc, "agent.presence_changed", "ticket.assigned", "ticket.queued", after=audit_cursor) == [
        ("agent.presence_changed", str(leaving.id), "agent", str(leaving.id), None,
         {"old": "online", "new": "offline"}),
        ("ticket.assigned", str(first), "system", None, "routed (least_loaded)",
         {"old": leaving.id, "new": staying.id}),
        ("ticket.assigned", str(second), "system", None, f"agent {leaving.id} went offline",
         {"old": leaving.id, "new": None}),
        ("ticket.queued", str(second), "system", None, f"agent {leaving.id} went offline", {"team_id": None}),
    ]
    assert ticket(svc, second).updated_at == now

    # When someone comes online, the handed-back ticket is hers.
    newcomer = make_agent(areas=["refund_dispute"])
    assert assignees(svc, second) == [newcomer.id]


def test_presence_is_one_of_three_and_unchanged_otherwise(svc, make_agent):
    agent = make_agent()
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)

    with pytest.raises(ValidationFailed):
        svc.desk.routing.set_presence(agent.id, "busy", actor=Actor.agent(agent.id))
    with pytest.raises(NotFound):
        svc.desk.routing.set_presence(agent.id + 100, "online", actor=Actor.system())
    svc.desk.routing.set_presence(agent.id, "online", actor=Actor.agent(agent.id))  # already online

    assert presence(svc, agent.id) == "online"
    assert events(svc, cursor) == []
    assert audits(svc, "agent.presence_changed", after=audit_cursor) == []


# ---------------------------------------------------------------- the supervisor's override


def test_a_supervisor_reassigns_a_ticket_even_past_capacity(svc, make_agent, make_ticket):
    supervisor = make_agent(role="supervisor", presence="offline")
    first_agent, second_agent = make_agent(capacity=1), make_agent(capacity=1)
    first, second = make_ticket(), make_ticket()
    assert assignees(svc, first, second) == [first_agent.id, second_agent.id]
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)

    svc.desk.tickets.assign(svc.desk.viewer(supervisor), first, agent_id=second_agent.id, reason="VIP customer")

    assert assignees(svc, first, second) == [second_agent.id, second_agent.id]
    assert (load(svc, first_agent.id), load(svc, second_agent.id)) == (0, 2)
    assert events(svc, cursor) == [("ticket.assigned", first, second_agent.id, None),
                                   ("ticket.unassigned", first, first_agent.id, None)]
    assert payloads(svc, "ticket.assigned", cursor) == [{"previous_assignee_id": first_agent.id,
                                                         "reason": "VIP customer"}]
    assert audits(svc, "ticket.assigned", after=audit_cursor) == [
        ("ticket.assigned", str(first), "agent", str(supervisor.id), "VIP customer",
         {"old": first_agent.id, "new": second_agent.id}),
    ]


def test_a_supervisor_moves_a_ticket_to_a_team_queue(svc, make_agent, make_ticket):
    supervisor = make_agent(role="supervisor", presence="offline")
    agent = make_agent()
    first = make_ticket()
    # A team made after the ticket was routed (routing puts a ticket in its area's team)
    team = svc.agents.create_team("Escalations", areas=["refund_dispute"], languages=[])
    audit_cursor = last_audit_id(svc)

    svc.desk.tickets.assign(svc.desk.viewer(supervisor), first, agent_id=None, team_id=team)

    assert (ticket(svc, first).assignee_id, ticket(svc, first).team_id) == (None, team)
    assert audits(svc, "ticket.assigned", after=audit_cursor) == [
        ("ticket.assigned", str(first), "agent", str(supervisor.id), "manual",
         {"old": agent.id, "new": None, "old_team": None, "new_team": team}),
    ]


def test_an_agent_cannot_give_a_ticket_to_someone_else(svc, make_agent, make_ticket):
    holder, other = make_agent(capacity=1), make_agent(capacity=1)
    first = make_ticket()
    assert assignees(svc, first) == [holder.id]
    cursor = svc.desk.events.last_id()
    audit_cursor = last_audit_id(svc)

    with pytest.raises(PermissionDenied):
        svc.desk.tickets.assign(svc.desk.viewer(holder), first, agent_id=other.id)

    assert assignees(svc, first) == [holder.id]
    assert (load(svc, holder.id), load(svc, other.id)) == (1, 0)
    assert svc.desk.events.last_id() == cursor
    assert last_audit_id(svc) == audit_cursor


def test_an_agent_takes_a_queued_ticket_herself(svc, make_agent, make_ticket):
    agent = make_agent(presence="away")
    queued = make_ticket()
    audit_cursor = last_audit_id(svc)

    svc.desk.tickets.assign(svc.desk.viewer(agent), queued, agent_id=agent.id)

    assert assignees(svc, queued) == [agent.id]
    assert audits(svc, "ticket.assigned", after=audit_cursor) == [
        ("ticket.assigned", str(queued), "agent", str(agent.id), "manual", {"old": None, "new": agent.id}),
    ]


# ---------------------------------------------------------------- races


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_tickets_at_once_never_overfill_the_last_seat(svc, make_agent, round_):
    agent = make_agent(capacity=1)
    cursor = svc.desk.events.last_id()

    def chat(phone: str) -> Callable[[], int]:
        return lambda: svc.desk.conversations.receive(
            channel="chat", identity_kind="phone", identity_value=phone, body="Saldo saya hilang",
            area="transaction", language="id").ticket_id

    results = race(chat("+6281299990001"), chat("+6281299990002"))

    assert all(isinstance(r, int) for r in results), results
    assert sorted(assignees(svc, *results), key=lambda a: a is None) == [agent.id, None]
    assert load(svc, agent.id) == 1
    taken = next(t for t in results if ticket(svc, t).assignee_id == agent.id)
    waiting = next(t for t in results if t != taken)
    assert sorted(events(svc, cursor)) == [("ticket.assigned", taken, agent.id, None),
                                           ("ticket.queued", waiting, None, None)]


def test_the_queue_drained_twice_at_once_assigns_each_ticket_once(svc, make_agent, make_ticket, clock):
    tickets = [make_ticket() for _ in range(3)]
    agent = make_agent(capacity=2, presence="away")
    with svc.db.transaction() as s:  # online without the drain set_presence would start
        s.get(Agent, agent.id).presence = "online"
    now = clock.now() + timedelta(seconds=1)

    results = race(lambda: svc.desk.routing.drain_queue(now), lambda: svc.desk.routing.drain_queue(now))

    assert sum(results) == 2, results
    assert assignees(svc, *tickets) == [agent.id, agent.id, None]
    with svc.db.read() as s:
        assert s.scalars(select(AuditEntry.subject_id).where(AuditEntry.action == "ticket.assigned")
                         .order_by(AuditEntry.id)).all() == [str(tickets[0]), str(tickets[1])]
