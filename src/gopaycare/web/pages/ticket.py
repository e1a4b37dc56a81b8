"""One ticket in the console: the assistant's handoff summary on top, the whole timeline (every
message on every channel, notes, and what changed), reply and note, macros and knowledge-base
answers in the customer's language, SLA timers, and the customer panel (Customer 360, masked).

Every read and write goes through the services the JSON API uses, as this viewer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...desk.models import Message, Ticket
from ...platform.audit import AuditEntry
from ...platform.errors import DomainError
from ...platform.pii import mask_text, mask_value
from .actions import ACTIONS, available, cashback_open, row_actions
from .auth import Console, console, posted, require
from .forms import int_field, text_field
from .inbox import OPEN
from .render import page

router = APIRouter(prefix="/console/tickets", include_in_schema=False)
MAX_ID = 2**63 - 1


def ticket_id_of(raw: str) -> int:
    """A path id: digits only, within BIGINT (a huge or odd one answers 404 like a missing ticket)."""
    from ...platform.errors import NotFound

    if not raw.isdecimal() or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound("ticket not found")
    return int(raw)


def timeline(messages: list[Message], history: list[AuditEntry]) -> list[dict[str, Any]]:
    """Messages and changes in time order; customer text masked here (revealed only on request)."""
    entries: list[dict[str, Any]] = [
        {"kind": "message", "at": m.created_at, "id": m.id, "direction": m.direction, "author": m.author_type,
         "internal": m.internal, "channel": m.channel, "body": mask_text(m.body), "status": m.delivery_status,
         "files": files_of(m)}
        for m in messages]
    entries += [{"kind": "change", "at": e.at, "action": e.action, "actor": e.actor_type,
                 "reason": mask_value(e.reason), "details": mask_value(e.details)} for e in history
                if e.action not in ("pii.revealed",)]
    return sorted(entries, key=lambda e: (e["at"], 0 if e["kind"] == "message" else 1))


def files_of(message: Message) -> list[dict[str, Any]]:
    """The message's files as the agent sees them: a stored one links to its download, a refused one says
    so; names masked like the text (a file can be named after an ID card's number)."""
    return [{"id": e.get("attachment_id") if e["state"] == "stored" else None,
             "name": mask_text(str(e.get("name") or "file"))} for e in message.attachments or ()
            if isinstance(e, dict) and isinstance(e.get("state"), str)]


def handoff_summary(messages: list[Message], history: list[AuditEntry]) -> str | None:
    """The note the assistant left when it handed the case to a person (handoff.do_hand_over)."""
    note_ids = [e.details.get("note_id") for e in history if e.action == "assistant.handed_over"]
    for message in reversed(messages):
        if message.id in note_ids:
            return mask_text(message.body)
    return None


def customer_panel(who: Console, ticket: Ticket) -> dict[str, Any]:
    return who.svc.desk.customer360.of_contact(who.viewer, ticket.contact_id)


def knowledge(who: Console, ticket: Ticket) -> list[dict[str, str]]:
    """Articles that answer this case, in the customer's language (the ticket's)."""
    try:
        hits = who.svc.kb.search(ticket.subject[:200], lang=ticket.language, limit=3)
    except DomainError:
        return []
    return [{"slug": h.slug, "title": h.title, "snippet": mask_text(h.snippet)} for h in hits]


def macro_choices(who: Console, ticket: Ticket) -> list[dict[str, Any]]:
    return [{"id": m.id, "name": m.name, "reply": (m.reply or {}).get(ticket.language) or
             next(iter((m.reply or {}).values()), "")} for m in who.svc.desk.rules.macros()]


def refund_requests(who: Console, panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's refund requests (newest first), with who proposed one waiting for its checker."""
    customer = panel.get("customer") or {}
    if not customer or not who.agent.can("refund.request"):
        return []
    found = who.svc.refunds.list(int(customer["id"]))[:10]
    names = {r.proposed_by: who.svc.agents.get(r.proposed_by).name for r in found if r.proposed_by}
    return [{"id": r.id, "amount": r.amount, "status": r.status, "reference": r.transaction_reference,
             "created_at": r.created_at, "proposed_by": names.get(r.proposed_by) if r.proposed_by else None,
             "proposed_by_me": r.proposed_by == who.agent.id} for r in found]


def ticket_context(who: Console, ticket_id: int) -> dict[str, Any]:
    ticket = who.svc.desk.tickets.get(who.viewer, ticket_id)
    messages = who.svc.desk.conversations.messages(who.viewer, ticket_id)
    history = who.svc.desk.tickets.history(who.viewer, ticket_id)
    panel = customer_panel(who, ticket)
    return {"who": who.agent, "ticket": ticket, "subject": mask_text(ticket.subject),
            "summary": handoff_summary(messages, history), "timeline": timeline(messages, history),
            "panel": panel, "articles": knowledge(who, ticket), "macros": macro_choices(who, ticket),
            "actions": available(who, ticket, panel, messages=sum(not m.internal for m in messages)),
            "all_actions": ACTIONS, "row_actions": row_actions(who, panel), "cashback_open": cashback_open(who, panel),
            "refund_requests": refund_requests(who, panel),
            "next_id": next_ticket(who, ticket_id), "after": who.svc.desk.events.last_id()}


def next_ticket(who: Console, ticket_id: int) -> int | None:
    """The next of my open tickets (the `n` shortcut), else the oldest unassigned one."""
    from ...desk.inbox import TicketFilter

    for f in (TicketFilter(status=OPEN, assignee="me"), TicketFilter(status=OPEN, assignee="none", order="created")):
        for t in who.svc.desk.inbox.tickets(who.viewer, f, limit=10).items:
            if t.id != ticket_id:
                return t.id
    return None


@router.get("/{raw_id}")
def ticket_page(raw_id: str, request: Request) -> Response:
    who = console(request)
    context = ticket_context(who, ticket_id_of(raw_id))
    context["done"] = request.query_params.get("done", "")[:40]
    return page(request, "console/ticket.html", context)


@router.get("/{raw_id}/files/{raw_file}")
def ticket_file(raw_id: str, raw_file: str, request: Request) -> Response:
    """A file on one of the ticket's messages, for an agent who may open the ticket (the API's check)."""
    from ...platform.errors import NotFound
    from ..routes.attachments import file_response

    who = console(request)
    ticket_id, file_id = ticket_id_of(raw_id), ticket_id_of(raw_file)
    messages = who.svc.desk.conversations.messages(who.viewer, ticket_id)
    if not any(f["id"] == file_id for m in messages for f in files_of(m)):
        raise NotFound("file not found")
    return file_response(*who.svc.desk.attachments.for_agent(who.viewer, file_id))


@router.post("/{raw_id}/reply")
async def reply(raw_id: str, request: Request) -> Response:
    who, form = await posted(request)
    ticket_id = ticket_id_of(raw_id)
    body = text_field(form, "body", max_length=5000)
    who.svc.desk.conversations.reply(who.viewer, ticket_id, body, internal=form.get("internal") == "1")
    return RedirectResponse(f"/console/tickets/{ticket_id}#end", status_code=303)


@router.post("/{raw_id}/macro")
async def apply_macro(raw_id: str, request: Request) -> Response:
    who, form = await posted(request)
    ticket_id = ticket_id_of(raw_id)
    macro_id = int_field(form, "macro_id", required=True) or 0
    who.svc.desk.rules.apply_macro(who.viewer, ticket_id, macro_id)
    return RedirectResponse(f"/console/tickets/{ticket_id}?done=macro#end", status_code=303)


@router.post("/{raw_id}/reveal")
async def reveal(raw_id: str, request: Request) -> Response:
    """The customer's phone and email in clear, for an agent with `pii.reveal` who gives a reason
    (identity.reveal audits it); shown once, on this answer only."""
    who, form = await posted(request)
    require(who, "pii.reveal")
    ticket_id = ticket_id_of(raw_id)
    reason = text_field(form, "reason", max_length=200)
    ticket = who.svc.desk.tickets.get(who.viewer, ticket_id)
    customer = (customer_panel(who, ticket).get("customer") or {}).get("id")
    if customer is None:
        from ...platform.errors import NotFound

        raise NotFound("this contact has no wallet account")
    clear = who.svc.identity.reveal(int(customer), agent_id=who.agent.id, reason=reason)
    context = ticket_context(who, ticket_id)
    context.update(revealed={"phone": clear.phone, "email": clear.email}, done="")
    return page(request, "console/ticket.html", context)
