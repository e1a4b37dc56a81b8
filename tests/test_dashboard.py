"""The supervisor dashboard (ADR 0026): the daily counters kept by each change, the reports read
from them, the live board, and the console pages (permission, hostile input, CSV export)."""

from __future__ import annotations

from typing import Any

from gopaycare.desk import counters
from gopaycare.platform import rollup

PHONE = "+6281298765432"


def _receive(svc: Any, n: int, **kw: Any) -> Any:
    return svc.desk.conversations.receive(channel=kw.pop("channel", "whatsapp"), identity_kind="whatsapp",
                                          identity_value=f"+62812000{n:05d}", body=f"saldo belum masuk {n}",
                                          **kw)


def _stored_equals_recount(svc: Any) -> rollup.Counter:
    with svc.db.read() as s:
        recounted: rollup.Counter = rollup.Counter()
        for model in counters.MODELS:
            recounted.update(rollup.recount(s, model))
        recounted = rollup.Counter({k: v for k, v in recounted.items() if v})
        stored = rollup.stored(s, counters.METRICS)
    assert stored == recounted
    return stored


def _by(stored: rollup.Counter, metric: str, *, area: str | None = None, channel: str | None = None) -> int:
    return sum(v for (_, c, a, m), v in stored.items()
               if m == metric and (area is None or a == area) and (channel is None or c == channel))


def test_counters_follow_every_change_and_equal_a_direct_count(svc, clock, supervisor):
    """Created, answered, reassigned, solved, reopened, moved to another area, solved again, rated,
    handed over: after each step the stored counters equal a recount from the rows."""
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
    # A rebuild from the rows writes exactly what the changes kept.
    with svc.db.transaction() as s:
        rollup.rebuild(s, counters.MODELS)
    assert _stored_equals_recount(svc) == stored
