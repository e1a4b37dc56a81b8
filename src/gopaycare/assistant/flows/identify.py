"""Knowing who we talk to. A contact that wrote from a registered phone or email is the customer
already; an anonymous one (a web chat) proves it with the registered phone and a code sent to it,
and the conversation's contact is then linked to the customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...identity.codes import MAX_GUESSES
from ...identity.contacts import normalize_phone
from ...platform.audit import Actor
from ...platform.errors import RateLimited, ValidationFailed
from ...platform.pii import mask_phone
from ...platform.ratelimit import Check
from ..texts import say
from ..turns import Outcome, Turn
from . import Flow, code_in

if TYPE_CHECKING:
    from ..engine import Assistant

STEPS = ("identify_phone", "identify_code")


def identify(flow: Flow, a: Assistant, t: Turn) -> Outcome | None:
    """None when the customer is known; otherwise the next message of the identification.

    An anonymous chatter may name any number: the answers and the guesses allowed are the same
    whether it is registered, frozen or nobody's (a code goes only to a registered one), and the
    sends are limited per conversation and per number like the reset codes (docs/adr/0018)."""

    if t.customer_id is not None:
        return None
    step = t.state.get("step")
    if step == "identify_code":
        code = code_in(t.text)
        if code is None:
            return Outcome.wait(say("identify_code_sent", t.lang, to=t.slots.get("identify_to", "")))
        return _check_code(a, t, code)
    phone = t.entity("phone")
    if step == "identify_phone" and phone is None:
        phone = t.text
    try:
        phone = normalize_phone(phone or "")
    except ValidationFailed:
        t.state["step"] = "identify_phone"
        return Outcome.wait(say("need_identify", t.lang))
    limiter = a.deps.limiter
    if limiter is not None:
        try:
            limiter.check([Check("chat_identify_per_session", f"conversation:{t.conversation_id}"),
                           Check("code_requests_per_destination", f"sms:{phone}"),
                           Check("code_budget_global", "everyone", limiter.cost_of_code("sms"))])
        except RateLimited as exc:
            return Outcome.wait(say("rate_limited", t.lang, seconds=exc.details.get("retry_after_seconds", 60)))
    customer_id = customer_with_phone(a, phone)
    if customer_id is not None:
        try:
            a.deps.identity.send_code(customer_id, "step_up", "sms")
        except RateLimited:
            pass  # the account's own resend rule: a code went out a moment ago; said to no one
    t.state["step"] = "identify_code"
    to = mask_phone(phone) or ""
    t.slots.update(identify_customer=customer_id, identify_to=to, identify_guesses=0,
                   identify_at=a.deps.clock.now().isoformat())
    return Outcome.wait(say("identify_code_sent", t.lang, to=to))


def _check_code(a: Assistant, t: Turn, code: str) -> Outcome | None:
    """A code for the number named: the conversation's own count of guesses and the time of its
    request decide what is said, never the account (an unknown number gets the same answers)."""
    customer_id = t.slots.get("identify_customer")
    guesses = int(t.slots.get("identify_guesses", 0)) + 1
    t.slots["identify_guesses"] = guesses
    asked = datetime.fromisoformat(t.slots.get("identify_at") or a.deps.clock.now().isoformat())
    expired = a.deps.clock.now() - asked > timedelta(seconds=a.deps.identity.settings.code_ttl_seconds)
    try:
        if customer_id is None or expired:
            raise ValidationFailed("no code to check", code="code_invalid")
        a.deps.identity.verify_code(customer_id, "step_up", code)
    except ValidationFailed:
        if not expired and guesses < MAX_GUESSES:
            return Outcome.wait(say("code_wrong", t.lang, left=MAX_GUESSES - guesses))
        t.state["step"] = "identify_phone"
        return Outcome.wait(say("code_expired", t.lang), say("need_identify", t.lang))
    _link(a, t.conversation_id, customer_id)
    t.customer_id = customer_id
    t.checked("identity verified by a code to the registered phone")
    t.state["step"] = None
    t.slots.clear()
    t.state["identified_now"] = True
    return None


def customer_with_phone(a: Assistant, phone: str | None) -> int | None:
    customer = a.deps.identity.find_by_address("phone", phone) if phone else None
    return customer.id if customer is not None else None


def _link(a: Assistant, conversation_id: int, customer_id: int) -> None:
    a.deps.conversations.link_to_customer(conversation_id, customer_id, actor=Actor.system())
