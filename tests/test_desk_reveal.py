"""Revealing a message in clear (desk/reveal.py): only with `pii.reveal` and a reason, on a ticket
the agent may see, and never without its audit row."""

from __future__ import annotations

import pytest

from gopaycare.platform import audit
from gopaycare.platform.errors import NotFound, PermissionDenied, ValidationFailed

PHONE = "+6281234567890"
BODY = "付款失败了 0812-3456-7890"


def receive(svc, body=BODY, phone=PHONE):
    return svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone, body=body)


def reveals(svc, ticket_id):
    with svc.db.read() as s:
        return [(e.actor_id, e.reason, e.details) for e in audit.history(s, "ticket", ticket_id)
                if e.action == "pii.revealed"]


def test_a_supervisor_sees_the_message_in_clear_and_the_reason_is_audited(svc, supervisor):
    got = receive(svc)

    message = svc.desk.reveal.message(supervisor, got.ticket_id, got.message_id, reason="  verify the number ")

    assert (message.id, message.body) == (got.message_id, BODY)
    assert reveals(svc, got.ticket_id) == [(str(supervisor.agent.id), "verify the number",
                                            {"message_id": got.message_id})]


@pytest.mark.parametrize(("case", "error"), [("no permission", PermissionDenied), ("no reason", ValidationFailed),
                                             ("another ticket's message", NotFound), ("unknown message", NotFound),
                                             ("ticket out of reach", NotFound)])
def test_a_refused_reveal_shows_nothing_and_audits_nothing(svc, supervisor, agent, case, error):
    got = receive(svc)
    other = receive(svc, "another one", phone="+6281298765432")
    svc.desk.tickets.assign(supervisor, other.ticket_id, agent_id=svc.agents.create("budi@gopay.test", "agent").id)
    svc.agents.create_role("verifier", ["customer.view", "pii.reveal"])  # may reveal, sees what an agent sees
    verifier = svc.desk.viewer(svc.agents.create("rina@gopay.test", "verifier"))
    who, ticket_id, message_id, reason = {
        "no permission": (agent, got.ticket_id, got.message_id, "verify the number"),
        "no reason": (supervisor, got.ticket_id, got.message_id, "   "),
        "another ticket's message": (supervisor, got.ticket_id, other.message_id, "verify the number"),
        "unknown message": (supervisor, got.ticket_id, 10**9, "verify the number"),
        "ticket out of reach": (verifier, other.ticket_id, other.message_id, "verify the number"),
    }[case]

    with pytest.raises(error):
        svc.desk.reveal.message(who, ticket_id, message_id, reason=reason)

    assert reveals(svc, got.ticket_id) == reveals(svc, other.ticket_id) == []


def test_the_verifier_role_reveals_on_a_ticket_in_reach(svc):
    svc.agents.create_role("verifier", ["customer.view", "pii.reveal"])
    verifier = svc.desk.viewer(svc.agents.create("rina@gopay.test", "verifier"))
    got = receive(svc)  # unassigned: every agent sees it

    assert svc.desk.reveal.message(verifier, got.ticket_id, got.message_id, reason="verify the number").body == BODY
