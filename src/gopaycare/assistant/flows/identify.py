"""Knowing who we talk to. A contact that wrote from a registered phone or email is the customer
already; an anonymous one (a web chat) proves it with the registered phone and a code sent to it,
and the conversation's contact is then linked to the customer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...identity.contacts import normalize_phone
from ...platform.audit import Actor
from ...platform.errors import RateLimited, ValidationFailed
from ..texts import say
from ..turns import Outcome, Turn
from . import Flow, code_in

if TYPE_CHECKING:
    from ..engine import Assistant

STEPS = ("identify_phone", "identify_code")


def identify(flow: Flow, a: Assistant, t: Turn) -> Outcome | None:
    """None when the customer is known; otherwise the next message of the identification."""

    if t.customer_id is not None:
        return None
    step = t.state.get("step")
    if step == "identify_code":
        code = code_in(t.text)
        if code is None:
            return Outcome.wait(say("identify_code_sent", t.lang, to=t.slots.get("identify_to", "")))
        customer_id = t.slots["identify_customer"]
        try:
            a.deps.identity.verify_code(customer_id, "step_up", code)
        except ValidationFailed as exc:
            if exc.code == "code_invalid":
                return Outcome.wait(say("code_wrong", t.lang, left=exc.details.get("attempts_left", 0)))
            t.state["step"] = "identify_phone"
            return Outcome.wait(say("code_expired", t.lang), say("need_identify", t.lang))
        _link(a, t.conversation_id, customer_id)
        t.customer_id = customer_id
        t.checked("identity verified by a code to the registered phone")
        t.state["step"] = None
        t.slots.clear()
        t.state["identified_now"] = True
        return None
    phone = t.entity("phone")
    if step == "identify_phone" and phone is None:
        try:
            phone = normalize_phone(t.text)
        except ValidationFailed:
            phone = None
    if phone is None:
        t.state["step"] = "identify_phone"
        return Outcome.wait(say("need_identify", t.lang))
    customer_id = customer_with_phone(a, phone)
    if customer_id is None:
        t.state["step"] = "identify_phone"
        return Outcome.wait(say("identify_unknown", t.lang))
    try:
        sent = a.deps.identity.send_code(customer_id, "step_up", "sms")
    except RateLimited as exc:
        return Outcome.wait(say("rate_limited", t.lang, seconds=exc.details.get("retry_after_seconds", 60)))
    t.state["step"] = "identify_code"
    t.slots.update(identify_customer=customer_id, identify_to=sent.destination_masked)
    return Outcome.wait(say("identify_code_sent", t.lang, to=sent.destination_masked))


def customer_with_phone(a: Assistant, phone: str | None) -> int | None:
    customer = a.deps.identity.find_by_address("phone", phone) if phone else None
    return customer.id if customer is not None else None


def _link(a: Assistant, conversation_id: int, customer_id: int) -> None:
    a.deps.conversations.link_to_customer(conversation_id, customer_id, actor=Actor.system())
