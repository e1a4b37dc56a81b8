"""One road for every message and every change of a ticket (issue 8's proofs).

A change made by the assistant ripples exactly like an agent's (the triggers see it); a refund filed
on a ticket that already links the payment links what is new and nothing twice; a reply whose
provider keeps failing ends `failed` after the outbox's last attempt, with an event the agent sees,
and no row lock is held while a provider is called; the customer reads what was sent to them.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from gopaycare.desk.domain_events import MessagePosted, StatusChanged, TicketChanged
from gopaycare.desk.models import Message, Ticket, TicketLink
from gopaycare.platform import audit
from gopaycare.platform.outbox import DeliveryError, OutboxMessage
from tests.conftest import PASSWORD
from tests.helpers import say

PHONE = "+6281288889999"


def trigger_applications(svc, ticket_id: int) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [{k: e.details[k] for k in ("trigger_id", "event", "applied")}
                for e in audit.history(s, "ticket", ticket_id) if e.action == "trigger.applied"]


def ticket(svc, ticket_id: int) -> Ticket:
    with svc.db.read() as s:
        return s.get(Ticket, ticket_id)


@pytest.fixture
def escalation_trigger(svc) -> int:
    """When a ticket becomes high priority, tag it and leave a note for the team."""
    return svc.desk.rules.create_trigger(
        "High priority", event="ticket.updated", conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "add_tag", "tag": "escalated"}, {"type": "add_note", "text": "Escalated: look first."}])


def test_a_trigger_fires_on_the_bots_escalation_exactly_as_on_an_agents_change(svc, bot, make_customer, clock,
                                                                                supervisor, escalation_trigger):
    # Given a customer whose bank top-up has been pending for three hours
    customer = make_customer(phone=PHONE)
    svc.wallet.topup(customer, 300_000, "bank_transfer", "t-pending", pending=True)
    clock.advance(hours=3)

    # When the assistant finds it overdue and escalates the case (priority high, investigation)
    by_bot = say(bot, PHONE, "top up not credited", "en")

    # And, on another customer's ticket, an agent raises the priority by hand
    by_agent = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value="+6281211110000",
                                              body="my payment failed")
    svc.desk.tickets.update(supervisor, by_agent.ticket_id, priority="high")

    # Then the same trigger acted on both, the same way
    assert by_bot.handed_off
    for ticket_id in (by_bot.ticket_id, by_agent.ticket_id):
        assert [(a["trigger_id"], a["event"], a["applied"]["type"]) for a in trigger_applications(svc, ticket_id)] \
            == [(escalation_trigger, "ticket.updated", "add_tag"), (escalation_trigger, "ticket.updated", "add_note")]
        assert "escalated" in ticket(svc, ticket_id).tags
        notes = [m.body for m in svc.desk.conversations.messages(supervisor, ticket_id) if m.internal]
        assert "Escalated: look first." in notes
    # And the bot's change is audited as the system's, with what it learned
    with svc.db.read() as s:
        changes = [e.details["changes"] for e in audit.history(s, "ticket", by_bot.ticket_id)
                   if e.action == "ticket.updated" and e.reason == "assistant"]
    assert changes == [{"priority": ["normal", "high"], "area": ["general", "transaction"],
                        "tags": [[], ["investigation"]]}]


def test_the_bots_area_guess_goes_through_the_same_change(svc, bot, make_customer):
    # Given a trigger on tickets that become transaction problems
    trigger_id = svc.desk.rules.create_trigger(
        "Transactions", event="ticket.updated", conditions=[{"field": "area", "op": "is", "value": "transaction"}],
        actions=[{"type": "add_tag", "tag": "txn"}])
    make_customer(phone=PHONE, balance=10_000)

    # When the assistant understands a question about limits (area transaction)
    answer = say(bot, PHONE, "what is my daily limit", "en")

    # Then the area was set by a change of the ticket, which the trigger saw
    assert ticket(svc, answer.ticket_id).area == "transaction"
    assert [a["trigger_id"] for a in trigger_applications(svc, answer.ticket_id)] == [trigger_id]


# ---------------------------------------------------------------- links


def test_a_refund_request_on_a_ticket_that_already_links_the_payment(svc, make_customer, make_merchant, supervisor):
    # Given a paid order, and a ticket on which an agent already linked that payment
    customer = make_customer(phone=PHONE, balance=200_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Tokoku"), 80_000, "p-1")
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE,
                                         body="my order never came")
    svc.desk.tickets.link(supervisor, got.ticket_id, "transaction", payment.reference)

    # When the customer's refund request is filed on that ticket
    request = svc.refunds.submit(customer, payment.reference, reason="order never came", idempotency_key="r-1",
                                 ticket_id=got.ticket_id)

    # Then it is recorded, the payment stays linked once, and the refund is linked beside it
    assert request.status == "awaiting_merchant"  # the merchant holds the money: asked first
    with svc.db.read() as s:
        links = s.execute(select(TicketLink.kind, TicketLink.reference).where(TicketLink.ticket_id == got.ticket_id)
                          .order_by(TicketLink.id)).all()
        linked = [(e.actor_type, e.details["kind"], e.details["reference"]) for e in audit.history(
            s, "ticket", got.ticket_id) if e.action == "ticket.linked"]
    assert links == [("transaction", payment.reference), ("refund", f"RR{request.id}")]
    assert linked == [("agent", "transaction", payment.reference), ("customer", "refund", f"RR{request.id}")]

    # And the same request again (a retry) is the same request, with nothing linked twice
    again = svc.refunds.submit(customer, payment.reference, reason="order never came", idempotency_key="r-1",
                               ticket_id=got.ticket_id)
    assert again.id == request.id
    with svc.db.read() as s:
        assert len(s.execute(select(TicketLink.id).where(TicketLink.ticket_id == got.ticket_id)).all()) == 2


# ---------------------------------------------------------------- the outbox


class FailingProvider:
    """A channel provider that is down: every send fails after being recorded."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: OutboxMessage) -> str | None:
        self.calls += 1
        raise DeliveryError("WhatsApp Cloud API answered 503")


def test_a_reply_whose_provider_keeps_failing_ends_failed_with_an_event(svc, supervisor, clock):
    # Given a WhatsApp conversation, assigned to an agent, and a provider that is down
    provider = FailingProvider()
    svc.outbox.register("whatsapp", provider)
    got = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp", identity_value=PHONE,
                                         body="halo, saldo saya hilang")
    svc.desk.tickets.assign(supervisor, got.ticket_id, agent_id=supervisor.agent.id)
    cursor = svc.desk.events.last_id()

    # When the agent replies and every retry fails, each as soon as it is due
    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "Kami cek sekarang ya")
    for _ in range(4):
        with svc.db.read() as s:
            due = s.execute(select(OutboxMessage.next_attempt_at).where(OutboxMessage.source_id == reply)).scalar_one()
        clock.set(due)
        svc.tasks["sweep_outbox"].call_local()

    # Then the outbox gave up after 5 attempts, and the reply shows as failed on the ticket
    with svc.db.read() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.source_type == "message",
                                                    OutboxMessage.source_id == reply)).scalar_one()
        message = s.get(Message, reply)
    assert (row.status, row.attempts, row.last_error) == ("failed", 5, "WhatsApp Cloud API answered 503")
    assert provider.calls == 5
    assert message.delivery_status == "failed"
    # And the agent who has the ticket was told, once, with the reason
    mine = svc.desk.events.since(cursor, agent_id=supervisor.agent.id, team_ids=[], see_all=False)
    assert [(e.kind, e.payload["status"], e.payload["error"]) for e in mine if e.kind == "message.delivery"] == [
        ("message.delivery", "failed", "WhatsApp Cloud API answered 503")]
    # And nothing tries it again
    clock.advance(hours=1)
    assert svc.tasks["sweep_outbox"].call_local() == 0
    assert provider.calls == 5


class LockProbe:
    """A provider that, while it is sending, has another connection take the rows the delivery is
    about (the outbox row, the message, its ticket) for writing: if the delivery held any lock,
    that would wait (SQLite: the database's write lock) or fail (PostgreSQL: NOWAIT)."""

    def __init__(self, svc: Any, backend: str) -> None:
        self.svc, self.backend = svc, backend
        self.outcome: list[str] = []

    def send(self, message: OutboxMessage) -> str:
        def write() -> None:
            try:
                with self.svc.db.transaction() as s:
                    if self.backend == "postgresql":
                        s.execute(text("SET LOCAL lock_timeout = '2s'"))
                        s.execute(text("SELECT id FROM outbox_messages WHERE id = :id FOR UPDATE NOWAIT"),
                                  {"id": message.id})
                        s.execute(text("SELECT id FROM messages WHERE id = :id FOR UPDATE NOWAIT"),
                                  {"id": message.source_id})
                        s.execute(text("SELECT t.id FROM tickets t JOIN messages m ON m.ticket_id = t.id "
                                       "WHERE m.id = :id FOR UPDATE OF t NOWAIT"), {"id": message.source_id})
                    else:
                        s.execute(text("UPDATE outbox_messages SET last_error = last_error WHERE id = :id"),
                                  {"id": message.id})
                self.outcome.append("written")
            except Exception as exc:  # the assertion below names it
                self.outcome.append(type(exc).__name__)

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(timeout=10)
        if thread.is_alive():
            self.outcome.append("blocked")
        return f"wamid.{message.id}"


def test_no_lock_is_held_while_the_provider_is_called(svc, supervisor, backend):
    # Given a provider that checks, mid-send, that nothing it is sending is locked
    probe = LockProbe(svc, backend)
    svc.outbox.register("whatsapp", probe)
    got = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp", identity_value=PHONE,
                                         body="halo")

    # When an agent's reply is delivered
    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "Halo!")

    # Then another writer got every row at once, and the reply was sent
    assert probe.outcome == ["written"]
    with svc.db.read() as s:
        assert s.get(Message, reply).delivery_status == "sent"


def test_every_write_path_reaches_the_same_handlers(svc):
    # The follow-on work is subscribed once, in handlers.py: the order is the documented one
    names = {event: [h.__name__ for h in svc.desk.bus.handlers(event)]
             for event in (MessagePosted, TicketChanged, StatusChanged)}
    assert names == {
        MessagePosted: ["lifecycle_on_message", "sla_on_message", "triggers_on_message", "announce_message",
                        "index_message"],
        TicketChanged: ["sla_on_changed", "announce_changed", "triggers_on_changed", "index_changed",
                        "route_area_changed"],
        StatusChanged: ["sla_on_status", "on_status_change", "announce_status", "triggers_on_status",
                        "drain_freed_seat"],
    }


# ---------------------------------------------------------------- the customer reads the conversation


def _login(client, login: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_customer_reads_the_replies_sent_to_them_and_nothing_else(svc, client, make_customer, supervisor,
                                                                       clock):
    # Given a customer's chat: their question, an agent's note and reply (no delivery job runs: the
    # chat's sender releases a reply in the transaction that stores it)
    make_customer(phone=PHONE)
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE,
                                         body="saldo saya hilang")
    svc.outbox.dispatch = lambda message_id: pytest.fail("a chat reply needs no delivery job")
    svc.desk.conversations.reply(supervisor, got.ticket_id, "Check the ledger first", internal=True)
    clock.advance(minutes=1)
    answer = svc.desk.conversations.reply(supervisor, got.ticket_id, "Kami cek ya, Bu")
    headers = _login(client, PHONE)

    # When the customer's app lists the conversations and reads this one
    conversations = client.get("/api/v1/me/conversations", headers=headers)
    messages = client.get(f"/api/v1/me/conversations/{got.conversation_id}/messages", headers=headers)

    # Then it sees its question and the reply, never the note
    assert conversations.status_code == 200
    assert [(c["id"], c["channel"]) for c in conversations.json()["items"]] == [(got.conversation_id, "chat")]
    assert messages.status_code == 200
    items = messages.json()["items"]
    assert [(m["seq"], m["direction"], m["author_type"], m["body"], m["delivery_status"]) for m in items] == [
        (1, "in", "contact", "saldo saya hilang", "received"), (2, "out", "agent", "Kami cek ya, Bu", "sent")]
    assert messages.json()["last_seq"] == 2

    # When it polls again after the last number it saw: nothing new
    again = client.get(f"/api/v1/me/conversations/{got.conversation_id}/messages?after=2", headers=headers)
    assert again.json() == {"items": [], "last_seq": 2}

    # When it says it has shown the reply: the reply is read, on the desk and in the outbox
    read = client.post(f"/api/v1/me/conversations/{got.conversation_id}/read", json={"up_to": 2},
                       headers=headers)
    assert read.json() == {"read": 1}
    with svc.db.read() as s:
        assert s.get(Message, answer).delivery_status == "read"
        assert s.execute(select(OutboxMessage.status).where(OutboxMessage.source_id == answer)).scalar_one() == "read"


def test_another_customers_conversation_is_not_found(svc, client, make_customer):
    # Given two customers, one of whom has a conversation
    make_customer(phone=PHONE)
    make_customer(phone="+6281277776666")
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="halo")
    other = _login(client, "+6281277776666")

    # When the other customer asks for it, or marks it read
    response = client.get(f"/api/v1/me/conversations/{got.conversation_id}/messages", headers=other)
    read = client.post(f"/api/v1/me/conversations/{got.conversation_id}/read", json={"up_to": got.message_id},
                       headers=other)

    # Then it does not exist for them (the same answer as an unknown id), and nothing changed
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert (read.status_code, read.json()["error"]["code"]) == (404, "not_found")
    assert client.get("/api/v1/me/conversations", headers=other).json() == {"items": []}
    assert client.get("/api/v1/me/conversations").status_code == 401


@pytest.mark.parametrize("path,query", [
    ("/api/v1/me/conversations/{cid}/messages", "after=-1"),
    ("/api/v1/me/conversations/{cid}/messages", f"after={2**70}"),
    ("/api/v1/me/conversations/{cid}/messages", "limit=0"),
    ("/api/v1/me/conversations/{cid}/messages", "limit=abc"),
    ("/api/v1/me/conversations/99999999999999999999999/messages", ""),
    ("/api/v1/me/conversations/0/messages", ""),
    ("/api/v1/me/conversations", "limit=1000"),
])
def test_hostile_reads_answer_4xx(svc, client, make_customer, path, query):
    make_customer(phone=PHONE)
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="halo")
    headers = _login(client, PHONE)

    response = client.get(path.format(cid=got.conversation_id) + (f"?{query}" if query else ""), headers=headers)

    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("body", [{"up_to": 2**70}, {"up_to": 0}, {"up_to": "x\x00"}, {}, {"up_to": None},
                                  {"up_to": "1" * 100_000}])
def test_hostile_read_receipts_answer_4xx_and_change_nothing(svc, client, make_customer, supervisor, body):
    make_customer(phone=PHONE)
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="halo")
    reply = svc.desk.conversations.reply(supervisor, got.ticket_id, "Halo!")
    headers = _login(client, PHONE)

    response = client.post(f"/api/v1/me/conversations/{got.conversation_id}/read", json=body, headers=headers)

    # A body past the chat routes' size limit is refused before it is parsed (413), the rest as invalid.
    assert response.status_code == (413 if len(str(body)) > 64 * 1024 else 422)
    with svc.db.read() as s:
        assert s.get(Message, reply).delivery_status == "sent"


def test_a_nul_byte_in_a_customers_message_is_dropped_not_stored(svc):
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE,
                                         body="halo\x00 saya")
    with svc.db.read() as s:
        assert s.get(Message, got.message_id).body == "halo saya"


def test_a_code_held_without_a_sender_goes_out_once_the_channel_has_one(svc, make_customer, clock):
    # Given a code sent while no SMS provider is configured (held in the outbox)
    customer = make_customer(phone=PHONE)
    svc.identity.send_code(customer, "login", "sms")
    [held] = svc.outbox.messages_to(PHONE)
    assert held.status == "held"

    # When a provider is registered within the code's lifetime and the sweep runs
    sent: list[str] = []

    class Sms:
        def send(self, message: OutboxMessage) -> str:
            sent.append(message.destination)
            return "SM1"

    svc.outbox.register("sms", Sms())
    clock.advance(minutes=1)
    assert svc.tasks["sweep_outbox"].call_local() == 1

    # Then it is delivered once
    assert sent == [PHONE]
    assert [m.status for m in svc.outbox.messages_to(PHONE)] == ["sent"]
    clock.advance(minutes=1)
    assert svc.tasks["sweep_outbox"].call_local() == 0
