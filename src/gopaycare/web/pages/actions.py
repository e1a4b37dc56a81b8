"""The safe actions on a ticket and its customer, each one service call that exists today: resend a
login code, unlock after the agent checked the customer's identity, freeze, refund (propose / approve,
maker-checker), grant a cashback, assign, solve, merge and split.

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
from ...platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ...platform.i18n import format_rupiah
from ...platform.pii import mask_text
from ...refunds.policy import needs_second_approval
from ...refunds.service import RefundRequestView
from . import session
from .auth import Console, console, posted, require
from .forms import int_field, text_field
from .render import page


@dataclass(frozen=True)
class Action:
    name: str
    permission: str
    needs_customer: bool
    on_row: bool = False  # offered on a refund request's or a payment's row, not in the ticket's header


ACTIONS = {a.name: a for a in (
    Action("resend_code", "customer.view", True),   # a new login code to the registered phone, rate-limited
    Action("unlock", "account.unlock", True),
    Action("freeze", "account.freeze", True),
    Action("assign", "customer.view", False),       # to me; to someone else needs ticket.assign (the service checks)
    Action("solve", "customer.view", False),
    Action("merge", "ticket.merge", False),         # into another open ticket of the same contact
    Action("split", "customer.view", False),        # as the API's split (DeskViewer)
    Action("refund_propose", "refund.request", True, on_row=True),   # the maker
    Action("refund_approve", "refund.approve", True, on_row=True),   # the checker
    Action("cashback", "promotion.grant", True, on_row=True),
)}
# A refused step of the maker-checker, said in the agent's words (the service's code → a console text).
REFUSALS = {"same_agent": "refused_same_agent", "changed_since_proposal": "refused_changed",
            "proposal_needed": "refused_proposal_needed", "not_under_review": "refused_not_under_review",
            "already_decided": "refused_cashback_decided", "budget_exhausted": "refused_budget",
            "not_eligible": "refused_cashback_not_eligible", "different_contacts": "refused_different_contacts"}
FINAL = ("solved", "closed", "merged")
router = APIRouter(prefix="/console/tickets", include_in_schema=False)


def available(who: Console, ticket: Ticket, panel: dict[str, Any], *, messages: int = 2) -> list[str]:
    """The actions this agent may take on this ticket now (the server checks again on POST)."""
    customer = panel.get("customer") or {}
    others = [p for p in panel.get("tickets", []) if p["id"] != ticket.id and p["status"] not in FINAL]
    names = []
    for action in ACTIONS.values():
        if action.on_row or not who.agent.can(action.permission) or (action.needs_customer and not customer):
            continue
        if action.name == "unlock" and not customer.get("locked"):
            continue
        if action.name == "freeze" and customer.get("frozen"):
            continue
        if action.name in ("solve", "merge", "split") and ticket.status in FINAL:
            continue
        if (action.name == "merge" and not others) or (action.name == "split" and messages < 2):
            continue  # nothing to merge into; one message cannot be split off (one must stay)
        names.append(action.name)
    return names


def row_actions(who: Console, panel: dict[str, Any]) -> list[str]:
    """The refund and cashback actions this agent may take on the panel's rows."""
    if not panel.get("customer"):
        return []
    return [a.name for a in ACTIONS.values() if a.on_row and who.agent.can(a.permission)]


def cashback_open(who: Console, panel: dict[str, Any]) -> set[str]:
    """The panel's completed payments that earned no cashback (a grant can only go to those)."""
    if not who.agent.can("promotion.grant"):
        return set()
    found = set()
    for txn in panel.get("transactions", []):
        if txn["kind"] == "payment" and txn["status"] == "succeeded":
            decision = who.svc.promotions.decision(txn["reference"])
            if decision is None or decision.status == "none":
                found.add(txn["reference"])
    return found


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
    extra = _details(who, ticket, action.name, customer, dict(request.query_params), session.language(request))
    template = "console/confirm_part.html" if request.headers.get("hx-request") else "console/confirm.html"
    return page(request, template, {"who": who.agent, "ticket": ticket, "action": action.name,
                                    "customer": customer, "error": None, **extra})


def _id_of(raw: object, what: str) -> int:
    """An id from a query or a form: digits within BIGINT, else 404 like a missing one."""
    if not isinstance(raw, str) or not raw.isdecimal() or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise NotFound(f"no such {what}")
    return int(raw)


def _refund_of(who: Console, customer: dict[str, Any], raw: object) -> RefundRequestView:
    """A refund request of this ticket's customer (another customer's answers 404, as a missing one)."""
    request_id = _id_of(raw, "refund request")
    try:
        found = who.svc.refunds.get(request_id)
    except NotFound:
        found = None
    if found is None or found.customer_id != int(customer["id"]):
        raise NotFound("no such refund request")
    return found


def _payment_of(who: Console, customer: dict[str, Any], raw: object) -> dict[str, Any]:
    """One of the customer's recent payments (a reference not theirs answers 404)."""
    reference = raw if isinstance(raw, str) else ""
    for txn in who.svc.wallet.list_transactions(int(customer["id"]), limit=50):
        if txn.reference == reference and txn.kind == "payment":
            return {"reference": txn.reference, "amount": txn.amount, "status": txn.status,
                    "merchant": txn.merchant_name}
    raise NotFound("no such payment of this customer")


def _details(who: Console, ticket: Ticket, name: str, customer: dict[str, Any] | None, values: dict[str, str],
             lang: str) -> dict[str, Any]:
    """What the confirmation shows beyond the customer: the refund, the payment, the tickets, the messages."""
    if name in ("refund_propose", "refund_approve") and customer:
        refund = _refund_of(who, customer, values.get("refund") or values.get("refund_id"))
        proposer = who.svc.agents.get(refund.proposed_by).name if refund.proposed_by else None
        return {"refund": refund, "proposer": proposer, "proposer_is_me": refund.proposed_by == who.agent.id,
                "needs_second": needs_second_approval(who.svc.refunds.policy, refund.amount),
                "threshold": who.svc.refunds.policy.second_approval_above}
    if name == "cashback" and customer:
        payment = _payment_of(who, customer, values.get("reference"))
        campaigns = [{"code": c.code, "title": c.title(lang)} for c in who.svc.promotions.running()]
        return {"payment": payment, "campaigns": campaigns}
    if name == "merge":
        panel = who.svc.desk.customer360.of_contact(who.viewer, ticket.contact_id)
        targets = [{"id": p["id"], "subject": mask_text(p["subject"])} for p in panel.get("tickets", [])
                   if p["id"] != ticket.id and p["status"] not in FINAL]
        return {"targets": targets}
    if name == "split":
        messages = [{"id": m.id, "body": mask_text(m.body)[:300], "at": m.created_at}
                    for m in who.svc.desk.conversations.messages(who.viewer, ticket.id) if not m.internal]
        return {"messages": messages}
    return {}


@router.post("/{raw_id}/actions/{name}")
async def perform(raw_id: str, name: str, request: Request) -> Response:
    who, form = await posted(request)
    action = _action(name)
    require(who, action.permission)
    ticket = _ticket(who, raw_id)
    lang = session.language(request)
    try:
        if action.needs_customer:
            # Its result goes on this ticket as a note: a closed ticket takes none, so it is refused first.
            check_open(ticket.status)
            note = _on_customer(who, ticket, action.name, form, lang)
            # The result on the timeline: a note every agent on the ticket reads (posted like any note).
            who.svc.desk.conversations.reply(who.viewer, ticket.id, note, internal=True)
            landing = ticket.id
        else:
            # An assignment, a status, a merge or a split is a change of the ticket: its own timeline entry.
            landing = _on_ticket(who, ticket, action.name, form) or ticket.id
    except (PermissionDenied, Conflict) as refused:
        if refused.code not in REFUSALS:
            raise
        return _refused(request, who, ticket, action, form, refused, lang)
    return RedirectResponse(f"/console/tickets/{landing}?done={action.name}#end", status_code=303)


def _refused(request: Request, who: Console, ticket: Ticket, action: Action, form: dict[str, str],
             refused: DomainError, lang: str) -> Response:
    """The confirmation again, saying in the agent's language why the service said no (403 / 409)."""
    customer = _customer_of(who, ticket) if action.needs_customer else None
    values = {k: v for k, v in form.items() if k in ("refund_id", "reference")}
    extra = _details(who, ticket, action.name, customer, values, lang)
    response = page(request, "console/confirm.html", {
        "who": who.agent, "ticket": ticket, "action": action.name, "customer": customer,
        "error": text("console", REFUSALS[refused.code], lang), **extra}, status=refused.http_status)
    response.headers["X-Error-Code"] = refused.code
    return response


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
    if name in ("refund_propose", "refund_approve"):
        customer = _customer_of(who, ticket)
        refund = _refund_of(who, customer, form.get("refund_id"))
        reason = text_field(form, "reason", max_length=500)
        if name == "refund_propose":
            done = who.svc.refunds.propose(who.agent.id, refund.id, reason=reason)
            return text("console", "note_refund_proposed", lang, id=done.id, amount=format_rupiah(done.amount),
                        reason=reason)
        done = who.svc.refunds.approve(who.agent.id, refund.id, reason=reason)
        return text("console", "note_refund_approved", lang, id=done.id, amount=format_rupiah(done.amount),
                    status=text("console", "refund_status_" + done.status, lang), reason=reason)
    if name == "cashback":
        customer = _customer_of(who, ticket)
        payment = _payment_of(who, customer, form.get("reference"))
        campaign = text_field(form, "campaign", max_length=40)
        reason = text_field(form, "reason", max_length=500)
        decision = who.svc.promotions.grant(customer_id, payment["reference"], campaign=campaign, reason=reason,
                                            actor=actor)
        return text("console", "note_cashback", lang, amount=format_rupiah(int(decision.amount or 0)),
                    reference=payment["reference"], campaign=campaign, reason=reason)
    reason = text_field(form, "reason", max_length=200)
    who.svc.identity.freeze(customer_id, actor=actor, reason=reason)
    return text("console", "note_frozen", lang, reason=reason)


def _on_ticket(who: Console, ticket: Ticket, name: str, form: dict[str, str]) -> int | None:
    """A change of the ticket itself; the ticket to land on after it (the merge's target, the split's new one)."""
    if name == "assign":
        email = text_field(form, "email", required=False, max_length=254)
        target = who.svc.agents.get_by_email(email) if email else who.agent
        who.svc.desk.tickets.assign(who.viewer, ticket.id, agent_id=target.id, reason="console")
    elif name == "solve":
        who.svc.desk.tickets.set_status(who.viewer, ticket.id, "solved", reason="console")
    elif name == "merge":
        target = int_field(form, "into", required=True) or 0
        if target > 2**63 - 1:
            raise NotFound("ticket not found")
        reason = text_field(form, "reason", max_length=200)
        if len(reason) < 3:
            raise ValidationFailed("reason is at least 3 characters", field="reason")
        return who.svc.desk.tickets.merge(who.viewer, ticket.id, target, reason=reason).id
    elif name == "split":
        chosen = [_id_of(key[len("message_"):], "message") for key, value in form.items()
                  if key.startswith("message_") and value == "1"]
        subject = text_field(form, "subject", required=False, max_length=200) or None
        return who.svc.desk.tickets.split(who.viewer, ticket.id, chosen, subject=subject).id
    else:
        raise ValidationFailed("unknown action")
    return None
