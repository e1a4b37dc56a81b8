"""The safe actions on a ticket's customer, each one service call that exists today: resend a login
code, unlock after the agent checked the customer's identity, freeze, assign, solve.

Each is asked for twice: GET shows what it will do (the confirmation), POST does it. The customer
acted on is the ticket's own (never an id from the form), the permission is the API's, and the
result goes on the ticket's timeline as an internal note, so whoever opens the ticket next sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...desk.lifecycle import check_open
from ...desk.models import Ticket
from ...identity.recovery import KnowledgeAnswers
from ...platform.audit import Actor
from ...platform.catalog import text
from ...platform.errors import Conflict, NotFound, ValidationFailed
from ...platform.i18n import format_rupiah
from . import session
from .auth import Console, console, posted, require
from .forms import int_field, text_field
from .render import page


@dataclass(frozen=True)
class Action:
    name: str
    permission: str
    needs_customer: bool


ACTIONS = {a.name: a for a in (
    Action("resend_code", "customer.view", True),   # a new login code to the registered phone, rate-limited
    Action("unlock", "account.unlock", True),
    Action("freeze", "account.freeze", True),
    Action("assign", "customer.view", False),       # to me; to someone else needs ticket.assign (the service checks)
    Action("solve", "customer.view", False),
)}
router = APIRouter(prefix="/console/tickets", include_in_schema=False)


def available(who: Console, ticket: Ticket, panel: dict[str, Any]) -> list[str]:
    """The actions this agent may take on this ticket now (the server checks again on POST)."""
    customer = panel.get("customer") or {}
    names = []
    for action in ACTIONS.values():
        if not who.agent.can(action.permission) or (action.needs_customer and not customer):
            continue
        if action.name == "unlock" and not customer.get("locked"):
            continue
        if action.name == "freeze" and customer.get("frozen"):
            continue
        if action.name == "solve" and ticket.status in ("solved", "closed", "merged"):
            continue
        names.append(action.name)
    return names


def _action(name: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound("no such action")
    return action


def _customer_of(who: Console, ticket: Ticket) -> dict[str, Any]:
    customer = who.svc.desk.customer360.of_contact(who.viewer, ticket.contact_id).get("customer")
    if not customer:
        raise Conflict("this contact has no wallet account", code="no_customer")
    return customer


def _ticket(who: Console, raw_id: str) -> Ticket:
    from .ticket import ticket_id_of

    return who.svc.desk.tickets.get(who.viewer, ticket_id_of(raw_id))


@router.get("/{raw_id}/actions/{name}")
def confirm(raw_id: str, name: str, request: Request) -> Response:
    who = console(request)
    action = _action(name)
    require(who, action.permission)
    ticket = _ticket(who, raw_id)
    customer = _customer_of(who, ticket) if action.needs_customer else None
    template = "console/confirm_part.html" if request.headers.get("hx-request") else "console/confirm.html"
    return page(request, template, {"who": who.agent, "ticket": ticket, "action": action.name,
                                    "customer": customer, "error": None})


@router.post("/{raw_id}/actions/{name}")
async def perform(raw_id: str, name: str, request: Request) -> Response:
    who, form = await posted(request)
    action = _action(name)
    require(who, action.permission)
    ticket = _ticket(who, raw_id)
    if action.needs_customer:
        # Its result goes on this ticket as a note: a closed ticket takes none, so it is refused first.
        check_open(ticket.status)
        note = _on_customer(who, ticket, action.name, form, session.language(request))
        # The result on the timeline: a note every agent on the ticket reads (posted like any note).
        who.svc.desk.conversations.reply(who.viewer, ticket.id, note, internal=True)
    else:
        # An assignment or a status is a change of the ticket: its own entry on the timeline.
        _on_ticket(who, ticket, action.name, form)
    return RedirectResponse(f"/console/tickets/{ticket.id}?done={action.name}#end", status_code=303)


def _on_customer(who: Console, ticket: Ticket, name: str, form: dict[str, str], lang: str) -> str:
    customer_id = int(_customer_of(who, ticket)["id"])
    actor = Actor.agent(who.agent.id)
    if name == "resend_code":
        sent = who.svc.identity.send_code(customer_id, "login", "sms")
        return text("console", "note_code_sent", lang, to=sent.destination_masked)
    if name == "unlock":
        amount = int_field(form, "recent_amount", required=True) or 0
        answers = KnowledgeAnswers(name=text_field(form, "name", max_length=120),
                                   id_last4=text_field(form, "id_last4", max_length=4), recent_amount=amount)
        who.svc.recovery.unlock_with_knowledge(customer_id, answers, checked_by=actor)
        return text("console", "note_unlocked", lang, amount=format_rupiah(amount))
    reason = text_field(form, "reason", max_length=200)
    who.svc.identity.freeze(customer_id, actor=actor, reason=reason)
    return text("console", "note_frozen", lang, reason=reason)


def _on_ticket(who: Console, ticket: Ticket, name: str, form: dict[str, str]) -> None:
    if name == "assign":
        email = text_field(form, "email", required=False, max_length=254)
        target = who.svc.agents.get_by_email(email) if email else who.agent
        who.svc.desk.tickets.assign(who.viewer, ticket.id, agent_id=target.id, reason="console")
    elif name == "solve":
        who.svc.desk.tickets.set_status(who.viewer, ticket.id, "solved", reason="console")
    else:
        raise ValidationFailed("unknown action")
