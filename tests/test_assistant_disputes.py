"""The assistant's dispute flow on the desk's side (the conversations themselves are in
tests/conversations/*_disputes.yaml): the case it opens is linked and tagged on the conversation's
ticket, an unrecognised charge is a security alert, and a "yes, get me a person" to the partial-refund
dispute offer still carries the dispute's tags."""

from __future__ import annotations

import pytest

from tests.test_assistant_answers import PARTIAL, PHONE, chat, ticket_of  # noqa: F401 - the fixture

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the conversation, not the engine, is tested here


def test_an_unrecognised_charge_opens_a_linked_case_and_freezes(svc, chat, make_customer, make_merchant):  # noqa: F811
    customer = make_customer(phone=PHONE, balance=600_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bukaloka"), 95_000, "p-1")
    asked = chat("there's a charge of 95000 i don't recognise", "en")
    assert asked["intent"] == "dispute_open" and "freeze" in "\n".join(asked["replies"])
    opened = chat("yes freeze it", "en")
    [case] = svc.disputes.list(customer)
    assert (case.transaction_reference, case.reason, case.froze_account) == (payment.reference,
                                                                             "unrecognised_charge", True)
    assert svc.identity.get(customer).frozen and opened["handed_off"]
    ticket = ticket_of(svc, opened)
    assert ticket.area == "refund_dispute" and ticket.priority == "high"
    assert {"dispute", "unrecognised_charge", "security_alert"} <= set(ticket.tags)


def test_a_person_asked_for_at_the_partial_refund_offer_keeps_the_dispute_tags(svc, chat, make_customer,  # noqa: F811
                                                                             make_merchant):
    customer = make_customer(phone=PHONE, balance=600_000)
    payment = svc.wallet.pay_merchant(customer, make_merchant("Bukaloka"), 480_000, "p-part")
    svc.wallet.refund(payment.reference, 180_000, "r-part", reason="one item missing")
    chat(PARTIAL["en"], "en")
    answer = chat("yes please, connect me to a human agent", "en")
    assert answer["handed_off"] and answer["intent"] == "human_handoff"
    ticket = ticket_of(svc, answer)
    assert ticket.area == "refund_dispute" and {"dispute", "partial_refund"} <= set(ticket.tags)
