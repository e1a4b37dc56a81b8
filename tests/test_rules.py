"""Rules: triggers (event + conditions -> actions), macros (actions + a reply in the ticket's
language) and time-based automations (auto-close solved tickets, remind on pending)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from gopaycare.desk.models import (
    Automation,
    AutomationRun,
    CsatSurvey,
    Macro,
    Message,
    Ticket,
    Trigger,
)
from gopaycare.desk.rules import matches
from gopaycare.platform import audit
from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.conftest import START
from tests.helpers import race

PHONE = "+6281234567890"
REPLY = {"zh-CN": "您好，我们正在处理。", "en": "Hello, we are on it.", "id": "Halo, kami sedang menanganinya."}
THANKS = {"zh-CN": "退款已处理。", "en": "Your refund is done.", "id": "Refund Anda sudah diproses."}


# ---------------------------------------------------------------- helpers


def receive(svc, body="Saldo saya hilang", *, language="id", phone=PHONE, **kw):
    return svc.desk.conversations.receive(channel=kw.pop("channel", "chat"), identity_kind="phone",
                                          identity_value=phone, body=body, language=language, **kw)


def ticket_row(svc, ticket_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        t = s.get(Ticket, ticket_id)
        return {c.key: getattr(t, c.key) for c in Ticket.__table__.columns}


def messages(svc, viewer, ticket_id) -> list[tuple[str, str, bool, str]]:
    return [(m.direction, m.author_type, m.internal, m.body)
            for m in svc.desk.conversations.messages(viewer, ticket_id)]


def applied(svc, ticket_id: int, action: str) -> list[AuditEntry]:
    with svc.db.read() as s:
        return [e for e in audit.history(s, "ticket", ticket_id) if e.action == action]


def count(svc, model) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def stored(svc) -> tuple[int, ...]:
    """Everything a refused rule definition must leave unchanged."""
    return tuple(count(svc, m) for m in (Trigger, Macro, Automation, AuditEntry))


def events(svc, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in svc.desk.events.since(0, agent_id=None, team_ids=[], see_all=True) if e.kind == kind]


def trigger(svc, event="ticket.created", conditions=(), actions=({"type": "add_tag", "tag": "seen"},), **kw):
    return svc.desk.rules.create_trigger(kw.pop("name", "t"), event=event, conditions=list(conditions),
                                         actions=list(actions), **kw)


# ================================================================ conditions (pure)


def _ticket(**kw: Any) -> Ticket:
    values = {"area": "transaction", "priority": "normal", "status": "open", "channel": "whatsapp", "language": "id",
              "customer_tier": "plus", "tags": ["vip", "refund"], "subject": "Saldo saya HILANG"}
    return Ticket(**{**values, **kw})


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("area", "is", "transaction", True),
    ("area", "is", "account", False),
    ("priority", "is_not", "urgent", True),
    ("priority", "is_not", "normal", False),
    ("status", "in", ["new", "open"], True),
    ("status", "in", ["solved", "closed"], False),
    ("channel", "is", "whatsapp", True),
    ("language", "in", ["zh-CN", "en"], False),
    ("customer_tier", "is", "plus", True),
    ("tags", "contains", "vip", True),
    ("tags", "contains", "spam", False),
    ("tags", "not_contains", "spam", True),
    ("tags", "not_contains", "refund", False),
    ("subject", "contains", "saldo saya hilang", True),
    ("subject", "contains", "refund", False),
    ("subject", "not_contains", "refund", True),
])
def test_condition_operators(field, op, value, expected):
    # Given a ticket, When one condition is checked, Then it holds exactly as the operator says
    assert matches(_ticket(), {"field": field, "op": op, "value": value}) is expected


# ================================================================ triggers


def test_trigger_on_a_new_ticket_applies_its_actions_in_order(svc, supervisor, dispatched):
    # Given a trigger for new Indonesian chats about a balance
    tid = trigger(svc, conditions=[
        {"field": "channel", "op": "is", "value": "chat"},
        {"field": "language", "op": "in", "value": ["id", "en"]},
        {"field": "subject", "op": "contains", "value": "saldo"},
    ], actions=[
        {"type": "set_priority", "priority": "urgent"},
        {"type": "set_area", "area": "transaction"},
        {"type": "add_tag", "tag": "Saldo Hilang"},
        {"type": "add_note", "text": "Cek mutasi saldo dulu."},
        {"type": "send_reply", "text": REPLY},
    ])

    # When a customer writes
    got = receive(svc, "Saldo saya hilang")

    # Then the ticket is changed, noted and answered in Indonesian, by the system
    row = ticket_row(svc, got.ticket_id)
    assert (row["priority"], row["area"], row["tags"]) == ("urgent", "transaction", ["saldo_hilang"])
    assert messages(svc, supervisor, got.ticket_id) == [
        ("in", "contact", False, "Saldo saya hilang"),
        ("out", "system", True, "Cek mutasi saldo dulu."),
        ("out", "system", False, REPLY["id"]),
    ]
    reply = svc.desk.conversations.messages(supervisor, got.ticket_id)[-1]
    assert (reply.channel, reply.delivery_status, reply.author_id) == ("chat", "sent", None)
    # only the reply leaves (the chat releases it at once), and only after commit
    assert dispatched == [(reply.id, True)]
    # and each action is audited as the system's
    entries = applied(svc, got.ticket_id, "trigger.applied")
    assert [(e.actor_type, e.reason, e.details["trigger_id"], e.details["applied"]["type"]) for e in entries] == [
        ("system", f"trigger {tid}", tid, t)
        for t in ("set_priority", "set_area", "add_tag", "add_note", "send_reply")]
    assert entries[0].details["applied"] == {"type": "set_priority", "old": "normal", "new": "urgent"}
    assert events(svc, "ticket.updated")[0]["changes"] == {
        "priority": ["normal", "urgent"], "area": ["general", "transaction"], "tags": [[], ["saldo_hilang"]]}


def test_a_trigger_whose_conditions_do_not_hold_does_nothing(svc, supervisor, dispatched):
    # Given a trigger for VIP tickets on WhatsApp
    trigger(svc, conditions=[{"field": "channel", "op": "is", "value": "whatsapp"}],
            actions=[{"type": "set_priority", "priority": "urgent"}, {"type": "send_reply", "text": REPLY}])

    # When a chat customer writes
    got = receive(svc)

    # Then nothing is applied
    assert ticket_row(svc, got.ticket_id)["priority"] == "normal"
    assert len(messages(svc, supervisor, got.ticket_id)) == 1
    assert applied(svc, got.ticket_id, "trigger.applied") == []
    assert dispatched == []


def test_triggers_run_by_position_and_see_what_earlier_ones_did(svc):
    # Given (created in reverse) a trigger that tags, and a later one that looks for the tag
    later = trigger(svc, name="urgent vip", position=5,
                    conditions=[{"field": "tags", "op": "contains", "value": "vip"}],
                    actions=[{"type": "set_priority", "priority": "urgent"}])
    first = trigger(svc, name="tag plus", position=1,
                    conditions=[{"field": "subject", "op": "contains", "value": "VIP"}],
                    actions=[{"type": "add_tag", "tag": "vip"}])
    # and one for another event
    trigger(svc, event="message.received", actions=[{"type": "add_tag", "tag": "follow_up"}])

    # When a new ticket arrives
    got = receive(svc, "Saya nasabah vip, tolong")

    # Then the tagging trigger ran first and the second saw its tag
    assert ticket_row(svc, got.ticket_id)["priority"] == "urgent"
    assert ticket_row(svc, got.ticket_id)["tags"] == ["vip"]
    assert [e.details["trigger_id"] for e in applied(svc, got.ticket_id, "trigger.applied")] == [first, later]


def test_message_received_and_ticket_updated_events(svc, supervisor):
    # Given a trigger on the customer's next message and one on agents' updates
    trigger(svc, event="message.received", actions=[{"type": "add_tag", "tag": "follow_up"}])
    trigger(svc, event="ticket.updated", conditions=[{"field": "tags", "op": "contains", "value": "refund"}],
            actions=[{"type": "set_area", "area": "refund_dispute"}, {"type": "remove_tag", "tag": "follow_up"}])
    got = receive(svc)
    assert ticket_row(svc, got.ticket_id)["tags"] == []  # the first message is no "message.received"

    # When the customer writes again
    receive(svc, "Halo?")
    # Then the message trigger tagged it
    assert ticket_row(svc, got.ticket_id)["tags"] == ["follow_up"]

    # When an agent tags it as a refund
    svc.desk.tickets.update(supervisor, got.ticket_id, tags=["refund", "follow_up"])

    # Then the update trigger moved it to refund disputes and took the tag off
    row = ticket_row(svc, got.ticket_id)
    assert (row["area"], row["tags"]) == ("refund_dispute", ["refund"])


def test_a_status_change_inside_a_trigger_does_not_fire_triggers_again(svc, supervisor):
    # Given two triggers that would bounce a ticket between two statuses forever
    to_open = trigger(svc, name="hold->open", event="ticket.status_changed",
                      conditions=[{"field": "status", "op": "is", "value": "on_hold"}],
                      actions=[{"type": "set_status", "status": "open"}], position=1)
    to_hold = trigger(svc, name="open->hold", event="ticket.status_changed",
                      conditions=[{"field": "status", "op": "is", "value": "open"}],
                      actions=[{"type": "set_status", "status": "on_hold"}], position=2)
    got = receive(svc)

    # When an agent puts the ticket on hold
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "on_hold")

    # Then each trigger ran once, in one pass, and the chain stopped
    with svc.db.read() as s:
        changes = [(e.actor_type, e.reason, e.details["old"], e.details["new"])
                   for e in audit.history(s, "ticket", got.ticket_id) if e.action == "ticket.status_changed"]
    assert changes == [
        ("agent", None, "new", "on_hold"),
        ("system", f"trigger {to_open}", "on_hold", "open"),
        ("system", f"trigger {to_hold}", "open", "on_hold"),
    ]
    assert ticket_row(svc, got.ticket_id)["status"] == "on_hold"

    # and the guard is lifted afterwards: the next change fires the triggers again
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "open")
    assert ticket_row(svc, got.ticket_id)["status"] == "on_hold"
    assert len(applied(svc, got.ticket_id, "trigger.applied")) == 3


def test_trigger_solving_a_ticket_goes_through_the_desk(svc, supervisor, dispatched):
    # Given a trigger that solves tickets tagged as answered by the bot
    tid = trigger(svc, event="ticket.updated", conditions=[{"field": "tags", "op": "contains", "value": "bot_done"}],
                  actions=[{"type": "set_status", "status": "solved"}, {"type": "set_status", "status": "closed"}])
    got = receive(svc)

    # When the ticket is tagged
    svc.desk.tickets.update(supervisor, got.ticket_id, tags=["bot_done"])

    # Then it is solved through the desk (solved_at, the CSAT survey) and closed right after
    row = ticket_row(svc, got.ticket_id)
    assert (row["status"], row["solved_at"], row["closed_at"]) == ("closed", START, START)
    assert count(svc, CsatSurvey) == 1
    assert [e.details["applied"] for e in applied(svc, got.ticket_id, "trigger.applied")] == [
        {"type": "set_status", "old": "new", "new": "solved"},
        {"type": "set_status", "old": "solved", "new": "closed"},
    ]
    assert applied(svc, got.ticket_id, "trigger.applied")[0].details["trigger_id"] == tid


def test_trigger_cannot_close_an_unsolved_ticket(svc):
    # Given a trigger that tries to close new tickets
    trigger(svc, actions=[{"type": "set_status", "status": "closed"}])

    # When a ticket arrives, Then it stays as it is and nothing is recorded as applied
    got = receive(svc)
    assert ticket_row(svc, got.ticket_id)["status"] == "new"
    assert applied(svc, got.ticket_id, "trigger.applied") == []


def test_trigger_assigns_an_agent_and_a_team_through_routing(svc):
    # Given an agent, a team, and a trigger that gives refund tickets to them
    ayu = svc.agents.create("ayu@gopay.test", "agent")
    team = svc.agents.create_team("Refunds", areas=["refund_dispute"], languages=["id"])
    tid = trigger(svc, conditions=[{"field": "area", "op": "is", "value": "refund_dispute"}],
                  actions=[{"type": "assign_team", "team_id": team}, {"type": "assign_agent", "agent_id": ayu.id}])

    # When a refund ticket arrives
    got = receive(svc, "Refund belum masuk", area="refund_dispute")

    # Then routing recorded both assignments for the trigger
    row = ticket_row(svc, got.ticket_id)
    assert (row["assignee_id"], row["team_id"]) == (ayu.id, team)
    assigned = applied(svc, got.ticket_id, "ticket.assigned")
    assert [(e.actor_type, e.reason, e.details) for e in assigned] == [
        ("system", f"trigger {tid}", {"old": None, "new": None, "old_team": None, "new_team": team}),
        ("system", f"trigger {tid}", {"old": None, "new": ayu.id}),
    ]
    assert [e.details["applied"] for e in applied(svc, got.ticket_id, "trigger.applied")] == [
        {"type": "assign_team", "old": None, "new": team}, {"type": "assign_agent", "agent_id": ayu.id}]


@pytest.mark.parametrize("case", [
    dict(event="ticket.deleted"),
    dict(conditions=[{"field": "amount", "op": "is", "value": "1"}]),
    dict(conditions=[{"field": "area", "op": "equals", "value": "account"}]),
    dict(conditions=[{"field": "area", "op": "contains", "value": "account"}]),
    dict(conditions=[{"field": "tags", "op": "is", "value": "vip"}]),
    dict(conditions=[{"field": "area", "op": "is", "value": "loans"}]),
    dict(conditions=[{"field": "priority", "op": "in", "value": []}]),
    dict(conditions=[{"field": "priority", "op": "in", "value": ["high", "critical"]}]),
    dict(conditions=[{"field": "priority", "op": "is"}]),
    dict(conditions=[{"field": "priority", "op": "is", "value": "high", "extra": 1}]),
    dict(conditions={"field": "priority"}),
    dict(actions=[]),
    dict(actions=[{"type": "delete_ticket"}]),
    dict(actions=[{"type": "set_priority"}]),
    dict(actions=[{"type": "set_priority", "priority": "high", "area": "account"}]),
    dict(actions=[{"type": "set_priority", "priority": "critical"}]),
    dict(actions=[{"type": "set_status", "status": "merged"}]),
    dict(actions=[{"type": "add_tag", "tag": ""}]),
    dict(actions=[{"type": "add_note", "text": "   "}]),
    dict(actions=[{"type": "send_reply", "text": {"en": "Hi", "id": "Halo"}}]),
    dict(actions=[{"type": "send_reply", "text": {**REPLY, "fr": "Salut"}}]),
    dict(actions=[{"type": "send_reply", "text": "Halo"}]),
    dict(actions=[{"type": "assign_team", "team_id": 999}]),
    dict(actions=[{"type": "assign_agent", "agent_id": 999}]),
    dict(actions=[{"type": "assign_agent", "agent_id": "1"}]),
    dict(name=" "),
    dict(position=-1),
], ids=lambda case: str(case)[:60])
def test_invalid_triggers_are_refused_and_nothing_is_stored(svc, case):
    # Given nothing but a valid trigger's ingredients
    before = stored(svc)
    args = {"name": "t", "event": "ticket.created", "conditions": [], "actions": [{"type": "add_tag", "tag": "x"}],
            **case}

    # When it is created with one bad part, Then it is refused and nothing is stored
    with pytest.raises(ValidationFailed):
        svc.desk.rules.create_trigger(args.pop("name"), **args)
    assert stored(svc) == before


def test_a_valid_trigger_is_stored_normalized(svc):
    tid = trigger(svc, conditions=[{"field": "tags", "op": "contains", "value": "Top Up"}],
                  actions=[{"type": "add_tag", "tag": "Needs Check"}], position=3)
    with svc.db.read() as s:
        row = s.get(Trigger, tid)
        assert (row.event, row.conditions, row.actions, row.position, row.active) == (
            "ticket.created", [{"field": "tags", "op": "contains", "value": "top_up"}],
            [{"type": "add_tag", "tag": "needs_check"}], 3, True)


# ================================================================ macros


@pytest.fixture
def refund_macro(svc):
    return svc.desk.rules.create_macro("Refund done", actions=[
        {"type": "set_priority", "priority": "high"},
        {"type": "add_tag", "tag": "refund"},
        {"type": "add_note", "text": "Refund checked in the ledger."},
    ], reply=THANKS)


@pytest.mark.parametrize("language", ["zh-CN", "en", "id"])
def test_macro_applies_actions_and_replies_in_the_ticket_language(svc, supervisor, dispatched, refund_macro, clock,
                                                                 language):
    # Given a new ticket in some language
    got = receive(svc, "Refund?", language=language)
    clock.advance(minutes=7)

    # When an agent applies the macro
    message_id = svc.desk.rules.apply_macro(supervisor, got.ticket_id, refund_macro)

    # Then the actions are applied and the reply goes out as the agent, in the ticket's language
    row = ticket_row(svc, got.ticket_id)
    assert (row["priority"], row["tags"], row["status"]) == ("high", ["refund"], "open")
    # the reply is the first response
    assert row["first_response_at"] == START + timedelta(minutes=7)
    assert messages(svc, supervisor, got.ticket_id) == [
        ("in", "contact", False, "Refund?"),
        ("out", "agent", True, "Refund checked in the ledger."),
        ("out", "agent", False, THANKS[language]),
    ]
    reply = svc.desk.conversations.messages(supervisor, got.ticket_id)[-1]
    assert (reply.id, reply.author_id, reply.delivery_status) == (message_id, supervisor.agent.id, "sent")
    assert dispatched == [(message_id, True)]
    (entry,) = applied(svc, got.ticket_id, "macro.applied")
    assert (entry.actor_type, entry.actor_id, entry.details["macro_id"], entry.details["message_id"]) == (
        "agent", str(supervisor.agent.id), refund_macro, message_id)
    assert [a["type"] for a in entry.details["actions"]] == ["set_priority", "add_tag", "add_note"]


def test_macro_that_solves_replies_before_the_survey_is_sent(svc, supervisor, dispatched):
    # Given a macro that answers and solves
    macro = svc.desk.rules.create_macro("Solve", actions=[{"type": "set_status", "status": "solved"}], reply=THANKS)
    got = receive(svc, "Refund?", language="en")

    # When it is applied
    message_id = svc.desk.rules.apply_macro(supervisor, got.ticket_id, macro)

    # Then the customer reads the answer first, then the satisfaction question
    bodies = messages(svc, supervisor, got.ticket_id)
    assert [b[:3] for b in bodies] == [("in", "contact", False), ("out", "agent", False), ("out", "system", False)]
    assert bodies[1][3] == THANKS["en"]
    assert ticket_row(svc, got.ticket_id)["status"] == "solved"
    assert [m for m, _ in dispatched] == [message_id, message_id + 1]


def test_macro_on_a_ticket_the_agent_cannot_see_is_not_found_and_changes_nothing(svc, supervisor, agent,
                                                                               refund_macro, dispatched):
    # Given a ticket assigned to someone else
    got = receive(svc)
    with svc.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.id == got.ticket_id).values(assignee_id=supervisor.agent.id))
    before = (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry))

    # When a plain agent applies a macro to it, Then it answers 404 and nothing changes
    with pytest.raises(NotFound):
        svc.desk.rules.apply_macro(agent, got.ticket_id, refund_macro)
    assert (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry)) == before
    assert dispatched == []


def test_macro_refusals_change_nothing(svc, supervisor, agent, refund_macro, dispatched):
    got = receive(svc)
    ayu_macro = svc.desk.rules.create_macro("Give to lead", actions=[
        {"type": "add_tag", "tag": "escalated"}, {"type": "assign_agent", "agent_id": supervisor.agent.id}],
        reply=REPLY)
    close = svc.desk.rules.create_macro("Close", actions=[{"type": "set_status", "status": "closed"}], reply=THANKS)
    before = (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry))

    # an unknown macro
    with pytest.raises(NotFound):
        svc.desk.rules.apply_macro(supervisor, got.ticket_id, 999)
    # assigning someone else needs ticket.assign
    with pytest.raises(PermissionDenied):
        svc.desk.rules.apply_macro(agent, got.ticket_id, ayu_macro)
    # only a solved ticket closes
    with pytest.raises(Conflict):
        svc.desk.rules.apply_macro(supervisor, got.ticket_id, close)
    assert (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry)) == before

    # a closed ticket takes no macro
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "closed")
    before = (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry))
    with pytest.raises(Conflict):
        svc.desk.rules.apply_macro(supervisor, got.ticket_id, refund_macro)
    assert (ticket_row(svc, got.ticket_id), count(svc, Message), count(svc, AuditEntry)) == before


def test_a_macro_changing_fields_fires_ticket_updated_triggers(svc, supervisor, refund_macro):
    # Given a trigger that escalates high-priority tickets when they are updated
    tid = trigger(svc, event="ticket.updated", conditions=[{"field": "priority", "op": "in", "value": ["high"]}],
                  actions=[{"type": "add_tag", "tag": "escalated"}])
    got = receive(svc)

    # When the macro raises the priority
    svc.desk.rules.apply_macro(supervisor, got.ticket_id, refund_macro)

    # Then the trigger saw the agent's change
    assert ticket_row(svc, got.ticket_id)["tags"] == ["escalated", "refund"]
    assert [e.details["trigger_id"] for e in applied(svc, got.ticket_id, "trigger.applied")] == [tid]


def test_macro_on_a_ticket_without_conversation_applies_actions_without_reply(svc, supervisor, refund_macro,
                                                                           dispatched):
    # Given a ticket split off another one (its messages moved, its conversation did not)
    got = receive(svc, "Saldo hilang")
    second = receive(svc, "Juga refund belum masuk").message_id
    split = svc.desk.tickets.split(supervisor, got.ticket_id, [second]).id
    before = count(svc, Message)

    # When a macro is applied to it
    result = svc.desk.rules.apply_macro(supervisor, split, refund_macro)

    # Then its field actions apply, but there is nowhere to reply or note
    assert result is None
    row = ticket_row(svc, split)
    assert (row["priority"], row["tags"]) == ("high", ["refund"])
    assert count(svc, Message) == before
    assert dispatched == []
    (entry,) = applied(svc, split, "macro.applied")
    assert entry.details["message_id"] is None
    assert [a["type"] for a in entry.details["actions"]] == ["set_priority", "add_tag"]


@pytest.mark.parametrize(("actions", "reply"), [
    ([], {"zh-CN": "好", "en": "OK"}),
    ([], {**THANKS, "id": ""}),
    ([], "Thanks"),
    ([{"type": "send_reply", "text": REPLY}], THANKS),
    ([{"type": "set_area", "area": "loans"}], THANKS),
])
def test_invalid_macros_are_refused_and_nothing_is_stored(svc, actions, reply):
    before = stored(svc)
    with pytest.raises(ValidationFailed):
        svc.desk.rules.create_macro("m", actions=actions, reply=reply)
    assert stored(svc) == before


def test_macro_names_are_unique(svc, refund_macro):
    before = stored(svc)
    with pytest.raises(Conflict):
        svc.desk.rules.create_macro(" Refund done ", actions=[], reply=THANKS)
    assert stored(svc) == before


# ================================================================ automations


def test_solved_tickets_close_after_96_hours_once(svc, supervisor, clock):
    # Given auto-close after 96 hours and a ticket solved now
    aid = svc.desk.rules.create_automation("Auto-close", status="solved", after_hours=96,
                                           actions=[{"type": "set_status", "status": "closed"}])
    got = receive(svc)
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")

    # When the job runs a second early, Then nothing happens
    clock.set(START + timedelta(hours=96, seconds=-1))
    assert svc.desk.rules.run_automations(clock.now()) == 0
    assert ticket_row(svc, got.ticket_id)["status"] == "solved"

    # When it runs at 96 hours, Then the ticket is closed by the system
    clock.set(START + timedelta(hours=96))
    assert svc.desk.rules.run_automations(clock.now()) == 1
    row = ticket_row(svc, got.ticket_id)
    assert (row["status"], row["closed_at"]) == ("closed", START + timedelta(hours=96))
    (entry,) = applied(svc, got.ticket_id, "automation.applied")
    assert (entry.actor_type, entry.reason, entry.details["applied"]) == (
        "system", f"automation {aid}", {"type": "set_status", "old": "solved", "new": "closed"})

    # and never again
    clock.advance(hours=200)
    assert svc.desk.rules.run_automations(clock.now()) == 0


def test_pending_reminder_is_sent_once_per_pending_spell(svc, supervisor, clock, dispatched):
    # Given a reminder after 24 hours pending
    aid = svc.desk.rules.create_automation("Remind", status="pending_customer", after_hours=24,
                                           actions=[{"type": "send_reply", "text": REPLY}])
    got = receive(svc)
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "pending_customer")
    # an agent's note meanwhile does not restart the wait
    clock.advance(hours=10)
    svc.desk.conversations.reply(supervisor, got.ticket_id, "waiting for the screenshot", internal=True)

    # When 24 hours have passed since the ticket went pending
    clock.set(START + timedelta(hours=24))
    assert svc.desk.rules.run_automations(clock.now()) == 1

    # Then one reminder went out in Indonesian, from the system
    assert messages(svc, supervisor, got.ticket_id)[-1] == ("out", "system", False, REPLY["id"])
    first_reminder = svc.desk.conversations.messages(supervisor, got.ticket_id)[-1].id
    assert dispatched == [(first_reminder, True)]

    # and no second one for the same spell, although the reminder touched the ticket
    clock.set(START + timedelta(hours=48))
    assert svc.desk.rules.run_automations(clock.now()) == 0

    # When the customer answers, and the agent waits for them again
    clock.set(START + timedelta(hours=50))
    receive(svc, "Ini screenshotnya")
    clock.set(START + timedelta(hours=51))
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "pending_customer")

    # Then the new spell gets its own reminder, 24 hours after it began
    clock.set(START + timedelta(hours=74, minutes=59))
    assert svc.desk.rules.run_automations(clock.now()) == 0
    clock.set(START + timedelta(hours=75))
    assert svc.desk.rules.run_automations(clock.now()) == 1
    with svc.db.read() as s:
        runs = [(r.automation_id, r.ticket_id, r.status_since) for r in s.scalars(
            select(AutomationRun).order_by(AutomationRun.status_since))]
    assert runs == [(aid, got.ticket_id, START), (aid, got.ticket_id, START + timedelta(hours=51))]
    assert len(dispatched) == 2


def test_automation_only_looks_at_its_status(svc, supervisor, clock):
    # Given a reminder for pending tickets, one ticket pending and one on hold
    svc.desk.rules.create_automation("Remind", status="pending_customer", after_hours=24,
                                     actions=[{"type": "add_tag", "tag": "reminded"}])
    first = receive(svc, phone="+6281234567890").ticket_id
    second = receive(svc, phone="+6281234567891").ticket_id
    svc.desk.tickets.set_status(supervisor, first, "pending_customer")
    svc.desk.tickets.set_status(supervisor, second, "on_hold")

    # When a day passes, Then only the pending ticket is acted on
    clock.advance(hours=25)
    assert svc.desk.rules.run_automations(clock.now()) == 1
    assert (ticket_row(svc, first)["tags"], ticket_row(svc, second)["tags"]) == (["reminded"], [])


def test_the_periodic_task_runs_the_automations(svc, supervisor, clock):
    svc.desk.rules.create_automation("Auto-close", status="solved", after_hours=96,
                                     actions=[{"type": "set_status", "status": "closed"}])
    got = receive(svc)
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")
    clock.advance(hours=96)

    assert svc.tasks["run_automations"].call_local() == 1
    assert ticket_row(svc, got.ticket_id)["status"] == "closed"


def test_two_workers_at_once_remind_once(svc, supervisor, clock, dispatched):
    # Given a ticket pending for a day
    svc.desk.rules.create_automation("Remind", status="pending_customer", after_hours=24,
                                     actions=[{"type": "send_reply", "text": REPLY}])
    got = receive(svc)
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "pending_customer")
    clock.advance(hours=24)

    # When two workers run the automations at the same moment
    results = race(lambda: svc.desk.rules.run_automations(clock.now()),
                   lambda: svc.desk.rules.run_automations(clock.now()))

    # Then the ticket is reminded exactly once
    assert sorted(results) == [0, 1]
    assert [m[1] for m in messages(svc, supervisor, got.ticket_id)] == ["contact", "system"]
    assert count(svc, AutomationRun) == 1
    assert len(dispatched) == 1


@pytest.mark.parametrize("case", [
    dict(status="closed"),
    dict(status="merged"),
    dict(status="waiting"),
    dict(after_hours=0),
    dict(after_hours=True),
    dict(after_hours="24"),
    dict(after_hours=24 * 365 + 1),
    dict(actions=[]),
    dict(actions=[{"type": "set_status", "status": "new"}]),
])
def test_invalid_automations_are_refused_and_nothing_is_stored(svc, case):
    before = stored(svc)
    args = {"status": "solved", "after_hours": 96, "actions": [{"type": "set_status", "status": "closed"}], **case}
    with pytest.raises(ValidationFailed):
        svc.desk.rules.create_automation("a", **args)
    assert stored(svc) == before


def test_rule_definitions_are_audited(svc):
    trigger(svc, name="tag all")
    svc.desk.rules.create_automation("Close", status="solved", after_hours=96,
                                     actions=[{"type": "set_status", "status": "closed"}])
    with svc.db.read() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ["trigger.created", "automation.created"])).order_by(AuditEntry.id)))
    assert [(e.actor_type, e.action, e.subject_type, e.details["name"]) for e in entries] == [
        (Actor.system().type, "trigger.created", "trigger", "tag all"),
        ("system", "automation.created", "automation", "Close")]
