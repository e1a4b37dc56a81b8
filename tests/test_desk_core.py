"""The help desk core: one conversation model for every channel, tickets and their rules of change,
access, the inbox, the event stream and Customer 360."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gopaycare.desk.contacts import identities
from gopaycare.desk.inbox import TicketFilter
from gopaycare.desk.models import Contact, Conversation, Message, Ticket
from gopaycare.platform import audit
from gopaycare.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

PHONE = "+6281234567890"


def receive(svc, body="付款失败了", phone=PHONE, channel="chat", **kw):
    kind = kw.pop("kind", "phone")
    return svc.desk.conversations.receive(channel=channel, identity_kind=kind, identity_value=phone, body=body, **kw)


def counts(svc):
    with svc.db.read() as s:
        return tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                     for m in (Contact, Conversation, Ticket, Message))


# ---------------------------------------------------------------- inbound


def test_first_message_opens_contact_conversation_and_ticket(svc):
    got = receive(svc, "我的付款失败了\n订单 123", language="zh-CN", area="transaction")

    with svc.db.read() as s:
        ticket = s.get(Ticket, got.ticket_id)
        conversation = s.get(Conversation, got.conversation_id)
        assert (ticket.subject, ticket.status, ticket.area, ticket.channel, ticket.language) == (
            "我的付款失败了", "new", "transaction", "chat", "zh-CN")
        assert (conversation.channel, conversation.status, conversation.handled_by) == ("chat", "open", "bot")
        assert [(i.kind, i.value) for i in identities(s, ticket.contact_id)] == [("phone", PHONE)]
    assert got.new_ticket and not got.duplicate
    assert counts(svc) == (1, 1, 1, 1)


def test_a_webhook_delivered_twice_stores_one_message(svc):
    first = receive(svc, "halo", provider_message_id="wamid.1", channel="whatsapp", kind="whatsapp")
    before = counts(svc)

    second = receive(svc, "halo", provider_message_id="wamid.1", channel="whatsapp", kind="whatsapp")

    assert second.duplicate and (second.message_id, second.ticket_id) == (first.message_id, first.ticket_id)
    assert counts(svc) == before


def test_one_person_on_two_channels_is_one_contact(svc):
    a = receive(svc, "hi", phone="0812-3456-7890")
    b = receive(svc, "hi again", phone="+62 812 3456 7890", channel="whatsapp", kind="whatsapp")

    with svc.db.read() as s:
        contact_a = s.get(Ticket, a.ticket_id).contact_id
        contact_b = s.get(Ticket, b.ticket_id).contact_id
        assert contact_a == contact_b
        assert sorted((i.kind, i.value) for i in identities(s, contact_a)) == [
            ("phone", PHONE), ("whatsapp", PHONE)]


def test_a_registered_customer_is_recognised_with_tier(svc, make_customer):
    customer = make_customer(tier="plus", phone=PHONE)

    got = receive(svc, "hello")

    with svc.db.read() as s:
        ticket = s.get(Ticket, got.ticket_id)
        assert s.get(Contact, ticket.contact_id).customer_id == customer
        assert ticket.customer_tier == "plus"


def test_next_message_joins_the_open_ticket(svc):
    first = receive(svc, "one")
    second = receive(svc, "two")
    assert (second.ticket_id, second.conversation_id, second.new_ticket) == (first.ticket_id, first.conversation_id,
                                                                             False)


def test_reply_after_solve_reopens_within_a_week_and_opens_new_after_close(svc, supervisor, clock):
    first = receive(svc, "one")
    svc.desk.tickets.set_status(supervisor, first.ticket_id, "solved")

    clock.advance(days=6)
    again = receive(svc, "still broken")
    assert again.ticket_id == first.ticket_id
    assert svc.desk.tickets.get(supervisor, first.ticket_id).status == "open"

    svc.desk.tickets.set_status(supervisor, first.ticket_id, "solved")
    svc.desk.tickets.set_status(supervisor, first.ticket_id, "closed")
    later = receive(svc, "new problem")
    assert later.new_ticket and later.ticket_id != first.ticket_id


@pytest.mark.parametrize("body", ["", "   ", "x" * 20_001])
def test_empty_or_huge_message_is_refused_and_nothing_stored(svc, body):
    with pytest.raises(ValidationFailed):
        receive(svc, body)
    assert counts(svc) == (0, 0, 0, 0)


def test_unknown_channel_or_bad_phone_is_refused(svc):
    with pytest.raises(ValidationFailed):
        receive(svc, "hi", channel="pigeon")
    with pytest.raises(ValidationFailed):
        receive(svc, "hi", phone="12")
    assert counts(svc) == (0, 0, 0, 0)


# ---------------------------------------------------------------- agent side


def test_first_reply_opens_the_ticket_and_counts_as_first_response(svc, supervisor, clock):
    got = receive(svc, "help")
    clock.advance(minutes=3)

    note = svc.desk.conversations.reply(supervisor, got.ticket_id, "checking the ledger", internal=True)
    ticket = svc.desk.tickets.get(supervisor, got.ticket_id)
    assert (ticket.status, ticket.first_response_at) == ("new", None)

    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "Your top-up is on its way")
    ticket = svc.desk.tickets.get(supervisor, got.ticket_id)
    assert (ticket.status, ticket.first_response_at) == ("open", clock.now())
    messages = {m.id: m for m in svc.desk.conversations.messages(supervisor, got.ticket_id)}
    assert (messages[note].internal, messages[note].delivery_status) == (True, "internal")
    assert (messages[reply].direction, messages[reply].channel, messages[reply].author_type) == ("out", "chat", "agent")
    assert [m.id for m in svc.desk.conversations.messages(supervisor, got.ticket_id, include_internal=False)] == [
        got.message_id, reply]


def test_status_rules(svc, supervisor):
    got = receive(svc, "help")
    with pytest.raises(Conflict) as exc:
        svc.desk.tickets.set_status(supervisor, got.ticket_id, "closed")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed):
        svc.desk.tickets.set_status(supervisor, got.ticket_id, "merged")
    assert svc.desk.tickets.get(supervisor, got.ticket_id).status == "new"

    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved", reason="refund done")
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "closed")
    with pytest.raises(Conflict):
        svc.desk.tickets.set_status(supervisor, got.ticket_id, "open")

    changes = [(e.details["old"], e.details["new"], e.reason)
               for e in svc.desk.tickets.history(supervisor, got.ticket_id) if e.action == "ticket.status_changed"]
    assert changes == [("new", "solved", "refund done"), ("solved", "closed", None)]


def test_update_is_audited_and_bad_values_change_nothing(svc, supervisor):
    got = receive(svc, "help")

    svc.desk.tickets.update(supervisor, got.ticket_id, priority="high", area="refund_dispute",
                            tags=["Refund", "vip", "refund"], custom_fields={"order_id": "A-1"})

    ticket = svc.desk.tickets.get(supervisor, got.ticket_id)
    assert (ticket.priority, ticket.area, ticket.tags, ticket.custom_fields) == (
        "high", "refund_dispute", ["refund", "vip"], {"order_id": "A-1"})
    entry = [e for e in svc.desk.tickets.history(supervisor, got.ticket_id) if e.action == "ticket.updated"][0]
    assert entry.actor_id == str(supervisor.agent.id)
    assert entry.details["changes"]["priority"] == ["normal", "high"]
    for bad in ({"priority": "asap"}, {"area": "crypto"}, {"tags": [""]}, {"subject": ""}):
        with pytest.raises(ValidationFailed):
            svc.desk.tickets.update(supervisor, got.ticket_id, **bad)
    assert svc.desk.tickets.get(supervisor, got.ticket_id).updated_at == ticket.updated_at


def test_link_a_real_transaction(svc, supervisor, make_customer, make_merchant):
    customer = make_customer(balance=50_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant(), 70_000, "p")
    got = receive(svc, "payment failed")

    svc.desk.tickets.link(supervisor, got.ticket_id, "transaction", payment.reference)
    svc.desk.tickets.link(supervisor, got.ticket_id, "transaction", payment.reference)  # once only

    assert [link.reference for link in svc.desk.tickets.links(supervisor, got.ticket_id)] == [payment.reference]
    with pytest.raises(NotFound):
        svc.desk.tickets.link(supervisor, got.ticket_id, "transaction", "GP000000FAKE")


# ---------------------------------------------------------------- access


def test_agents_see_only_their_unassigned_or_team_tickets(svc, supervisor, agent):
    other = svc.agents.create("budi@gopay.test", "agent")
    mine, theirs = receive(svc, "a"), receive(svc, "b", phone="+6281298765432")
    svc.desk.tickets.assign(supervisor, theirs.ticket_id, agent_id=other.id)
    svc.desk.tickets.assign(agent, mine.ticket_id, agent_id=agent.agent.id)  # taking it yourself is allowed

    assert svc.desk.tickets.get(agent, mine.ticket_id).assignee_id == agent.agent.id
    for call in (lambda: svc.desk.tickets.get(agent, theirs.ticket_id),
                 lambda: svc.desk.conversations.reply(agent, theirs.ticket_id, "hi"),
                 lambda: svc.desk.tickets.set_status(agent, theirs.ticket_id, "solved"),
                 lambda: svc.desk.tickets.get(agent, 999_999)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(PermissionDenied):
        svc.desk.tickets.assign(agent, mine.ticket_id, agent_id=other.id)
    assert svc.desk.tickets.get(supervisor, theirs.ticket_id).status == "new"
    assert svc.desk.tickets.get(supervisor, mine.ticket_id).assignee_id == agent.agent.id


# ---------------------------------------------------------------- merge and split


def test_merge_moves_messages_and_keeps_history(svc, supervisor, clock):
    first = receive(svc, "payment failed", channel="chat")
    second = receive(svc, "payment failed (email)", channel="email", kind="phone")

    target = svc.desk.tickets.merge(supervisor, second.ticket_id, first.ticket_id, reason="same payment")

    assert target.id == first.ticket_id
    source = svc.desk.tickets.get(supervisor, second.ticket_id)
    assert (source.status, source.merged_into_id) == ("merged", first.ticket_id)
    assert sorted(m.id for m in svc.desk.conversations.messages(supervisor, first.ticket_id)) == [
        first.message_id, second.message_id]
    assert "ticket.merged_into" in [e.action for e in svc.desk.tickets.history(supervisor, second.ticket_id)]
    # The customer's next email lands on the surviving ticket
    assert receive(svc, "any news?", channel="email").ticket_id == first.ticket_id


def test_merge_refusals_change_nothing(svc, supervisor, agent):
    a, b = receive(svc, "a"), receive(svc, "b", phone="+6281298765432")
    with pytest.raises(Conflict):
        svc.desk.tickets.merge(supervisor, a.ticket_id, b.ticket_id, reason="x")
    with pytest.raises(PermissionDenied):
        svc.desk.tickets.merge(agent, a.ticket_id, b.ticket_id, reason="x")
    with pytest.raises(ValidationFailed):
        svc.desk.tickets.merge(supervisor, a.ticket_id, a.ticket_id, reason="x")
    assert [svc.desk.tickets.get(supervisor, t).status for t in (a.ticket_id, b.ticket_id)] == ["new", "new"]


def test_split_moves_chosen_messages_to_a_new_ticket(svc, supervisor):
    first = receive(svc, "payment failed")
    other = receive(svc, "also: my app crashes")

    new = svc.desk.tickets.split(supervisor, first.ticket_id, [other.message_id])

    assert (new.split_from_id, new.subject, new.status) == (first.ticket_id, "also: my app crashes", "open")
    assert [m.id for m in svc.desk.conversations.messages(supervisor, new.id)] == [other.message_id]
    assert [m.id for m in svc.desk.conversations.messages(supervisor, first.ticket_id)] == [first.message_id]
    with pytest.raises(ValidationFailed):
        svc.desk.tickets.split(supervisor, first.ticket_id, [first.message_id])


# ---------------------------------------------------------------- inbox


def test_inbox_pages_by_cursor_without_gaps_or_repeats(svc, supervisor, clock):
    ids = []
    for i in range(7):
        ids.append(receive(svc, f"ticket {i}", phone=f"+62812000000{i:02d}", area="refund_dispute").ticket_id)
        clock.advance(minutes=1)

    seen, cursor = [], None
    while True:
        page = svc.desk.inbox.tickets(supervisor, TicketFilter(assignee="none", area="refund_dispute",
                                                               status=("new", "open"), order="created"),
                                      limit=3, cursor=cursor)
        seen += [t.id for t in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    assert seen == ids
    newest_first = svc.desk.inbox.tickets(supervisor, TicketFilter(), limit=2)
    assert [t.id for t in newest_first.items] == ids[::-1][:2]
    with pytest.raises(ValidationFailed):
        svc.desk.inbox.tickets(supervisor, TicketFilter(), cursor="garbage!!")


# ---------------------------------------------------------------- events


def test_events_resume_from_a_cursor(svc, supervisor):
    receive(svc, "one")
    cursor = svc.desk.events.last_id()
    second = receive(svc, "two", phone="+6281298765432")

    events = svc.desk.events.since(cursor, agent_id=supervisor.agent.id, team_ids=[], see_all=True)

    kinds = [e.kind for e in events]
    assert kinds[0] == "ticket.created" and kinds[-1] == "ticket.snapshot" and "message.created" in kinds
    assert {e.ticket_id for e in events} == {second.ticket_id}
    assert [e.id for e in events] == list(range(cursor + 1, cursor + 1 + len(events)))  # no gaps
    assert svc.desk.events.since(events[-1].id, agent_id=1, team_ids=[], see_all=True) == []


def test_agents_only_receive_events_they_may_see(svc, supervisor, agent):
    other = svc.agents.create("budi@gopay.test", "agent")
    got = receive(svc, "one")
    cursor = svc.desk.events.last_id()

    svc.desk.tickets.assign(supervisor, got.ticket_id, agent_id=other.id)
    svc.desk.conversations.reply(supervisor, got.ticket_id, "hello")

    mine = svc.desk.events.since(cursor, agent_id=agent.agent.id, team_ids=[], see_all=False)
    theirs = svc.desk.events.since(cursor, agent_id=other.id, team_ids=[], see_all=False)
    assert [e for e in mine if e.ticket_id == got.ticket_id] == []
    assert "message.created" in [e.kind for e in theirs]


def test_initial_state_plus_events_equals_a_fresh_fetch(svc, supervisor, clock):
    """The contract of the event stream (Zulip's test_events idea)."""
    from gopaycare.desk.events import ticket_summary

    def fetch():
        return {t.id: ticket_summary(t) for t in svc.desk.inbox.tickets(supervisor, TicketFilter(
            status=("new", "open", "pending_customer", "on_hold", "solved", "closed", "merged")), limit=100).items}

    a = receive(svc, "first")
    state, cursor = fetch(), svc.desk.events.last_id()

    b = receive(svc, "second", phone="+6281298765432")
    clock.advance(minutes=5)
    svc.desk.conversations.reply(supervisor, a.ticket_id, "on it")
    svc.desk.tickets.update(supervisor, b.ticket_id, priority="urgent", tags=["fraud"])
    svc.desk.tickets.assign(supervisor, b.ticket_id, agent_id=supervisor.agent.id)
    svc.desk.tickets.set_status(supervisor, a.ticket_id, "pending_customer")
    receive(svc, "any update?")
    svc.desk.tickets.set_status(supervisor, a.ticket_id, "solved")
    c = receive(svc, "third", phone="+6281298765432", channel="email")
    svc.desk.tickets.merge(supervisor, c.ticket_id, b.ticket_id, reason="same issue")

    for event in svc.desk.events.since(cursor, agent_id=supervisor.agent.id, team_ids=[], see_all=True):
        if event.kind == "ticket.snapshot":
            state[event.ticket_id] = event.payload["ticket"]
    assert state == fetch()


# ---------------------------------------------------------------- customer 360


def test_customer_360_masks_personal_data(svc, supervisor, make_customer, make_merchant):
    customer = make_customer(balance=50_000, phone=PHONE, name="Siti Rahayu")
    svc.wallet.pay_merchant(customer, make_merchant("GoFood"), 80_000, "p-360")
    got = receive(svc, "payment failed")
    with svc.db.read() as s:
        contact_id = s.get(Ticket, got.ticket_id).contact_id

    view = svc.desk.customer360.of_contact(supervisor, contact_id)

    assert view["customer"]["phone"] == "0812****7890"
    assert view["customer"]["id_number"].startswith("****")
    assert {i["value"] for i in view["identities"]} >= {"0812****7890"}
    assert view["wallet"]["balance"] == 50_000
    failed = view["transactions"][0]
    assert (failed["status"], failed["failure_reason"], failed["merchant"]) == ("failed", "INSUFFICIENT_BALANCE",
                                                                               "GoFood")
    assert failed["failure_details"] == {"balance": 50_000, "amount": 80_000, "shortfall": 30_000}
    assert [t["id"] for t in view["tickets"]] == [got.ticket_id]
    assert PHONE not in str(view)


def test_audit_of_a_ticket_records_who_what_and_when(svc, supervisor):
    got = receive(svc, "one")
    svc.desk.tickets.update(supervisor, got.ticket_id, priority="high")
    with svc.db.read() as s:
        rows = [r for r in audit.history(s, "ticket", got.ticket_id) if r.action == "ticket.updated"]
    assert [(r.actor_type, r.actor_id, r.at, r.details) for r in rows] == [
        ("agent", str(supervisor.agent.id), svc.clock.now(), {"changes": {"priority": ["normal", "high"]}})]


# ---------------------------------------------------------------- outbound and CSAT over the channel


class RecordingSender:
    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def send(self, message):
        from gopaycare.platform.outbox import DeliveryError

        if self.fail:
            raise DeliveryError("provider down")
        self.sent.append((message.body, message.channel, message.destination))
        return f"prov-{message.id}"


def _delivery(svc, message_id):
    from gopaycare.platform.outbox import OutboxMessage

    with svc.db.read() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.source_type == "message",
                                                    OutboxMessage.source_id == message_id)).scalar_one()
        message = s.get(Message, message_id)
        return row, message


def test_replies_go_out_on_the_conversations_channel_once(svc, supervisor):
    sender = RecordingSender()
    svc.outbox.register("whatsapp", sender)
    got = receive(svc, "halo", channel="whatsapp", kind="whatsapp")

    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "Halo, kami cek ya")
    row, _ = _delivery(svc, reply)
    svc.tasks["deliver_message"](row.id)  # a repeated job sends nothing more

    assert sender.sent == [("Halo, kami cek ya", "whatsapp", PHONE)]
    row, message = _delivery(svc, reply)
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 1, f"prov-{row.id}")
    assert (message.delivery_status, message.provider_message_id) == ("sent", f"prov-{row.id}")


def test_a_failed_delivery_waits_its_backoff_and_the_sweep_sends_it(svc, supervisor, clock):
    sender = RecordingSender(fail=True)
    svc.outbox.register("whatsapp", sender)
    got = receive(svc, "hi", channel="whatsapp", kind="whatsapp")
    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "hello")
    row, message = _delivery(svc, reply)
    assert (row.status, row.attempts, row.last_error, message.delivery_status) == (
        "queued", 1, "provider down", "pending")

    # The provider is back, but the first retry is due only 30 seconds after the failure
    sender.fail = False
    clock.advance(seconds=29)
    assert svc.tasks["sweep_outbox"].call_local() == 0
    clock.advance(seconds=1)
    assert svc.tasks["sweep_outbox"].call_local() == 1

    assert sender.sent == [("hello", "whatsapp", PHONE)]
    row, message = _delivery(svc, reply)
    assert (row.status, row.attempts, message.delivery_status) == ("sent", 2, "sent")
    assert svc.tasks["sweep_outbox"].call_local() == 0


def test_a_rating_sent_as_a_message_answers_csat_and_does_not_reopen(svc, supervisor):
    got = receive(svc, "help", language="id")
    svc.desk.conversations.reply(supervisor, got.ticket_id, "done")
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")

    rating = receive(svc, "5 mantap")

    assert rating.ticket_id == got.ticket_id
    assert svc.desk.tickets.get(supervisor, got.ticket_id).status == "solved"
    with svc.db.read() as s:
        from gopaycare.desk.models import CsatSurvey

        survey = s.execute(select(CsatSurvey).where(CsatSurvey.ticket_id == got.ticket_id)).scalar_one()
        assert (survey.rating, survey.comment) == (5, "mantap")
    # Anything else the customer writes afterwards reopens it as usual
    receive(svc, "eh, masih error")
    assert svc.desk.tickets.get(supervisor, got.ticket_id).status == "open"


def test_unknown_priority_is_refused(svc):
    with pytest.raises(ValidationFailed):
        receive(svc, "hi", priority="critical")
    assert counts(svc) == (0, 0, 0, 0)
