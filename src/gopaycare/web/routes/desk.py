"""The agents' REST API for the help desk: tickets, messages, inbox, search, Customer 360.

Routes only translate: authenticate, parse, call one desk function, shape the answer. Customer
text is masked (phones, emails, ID and card numbers) unless the agent reveals it with a reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...container import Services
from ...desk.access import Viewer
from ...desk.agents import AgentView
from ...desk.events import ticket_summary
from ...desk.inbox import TicketFilter
from ...desk.models import Message, Ticket
from ...platform import audit
from ...platform.audit import Actor
from ...platform.errors import NotFound, ValidationFailed
from ...platform.pii import mask_text
from ..deps import agent_with, services

router = APIRouter(prefix="/api/v1", tags=["help desk"])


def desk_viewer(permission: str = "customer.view"):  # noqa: ANN201 - a FastAPI dependency factory
    def dependency(agent: AgentView = Depends(agent_with(permission)), svc: Services = Depends(services)) -> Viewer:
        return svc.desk.viewer(agent)

    return dependency


class AgentLoginIn(BaseModel):
    email: str
    password: str
    totp_code: str | None = None


class PresenceIn(BaseModel):
    presence: str = Field(pattern="^(online|away|offline)$")


class TicketPatch(BaseModel):
    priority: str | None = None
    area: str | None = None
    subject: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class StatusIn(BaseModel):
    status: str
    reason: str | None = Field(default=None, max_length=200)


class AssignIn(BaseModel):
    agent_id: int | None = None
    team_id: int | None = None
    reason: str | None = Field(default=None, max_length=200)


class MessageIn(BaseModel):
    body: str
    internal: bool = False


class LinkIn(BaseModel):
    kind: str = Field(pattern="^(transaction|refund)$")
    reference: str = Field(min_length=4, max_length=40)


class MergeIn(BaseModel):
    into: int
    reason: str = Field(min_length=3, max_length=200)


class SplitIn(BaseModel):
    message_ids: list[int]
    subject: str | None = None


class InboundIn(BaseModel):
    channel: str
    identity_kind: str
    identity_value: str
    body: str
    provider_message_id: str | None = None
    thread: str | None = None
    name: str | None = None
    language: str | None = None
    area: str | None = None


class RevealIn(BaseModel):
    reason: str = Field(min_length=5, max_length=200)


def message_out(m: Message, *, reveal: bool = False) -> dict[str, Any]:
    return {"id": m.id, "ticket_id": m.ticket_id, "conversation_id": m.conversation_id, "direction": m.direction,
            "author_type": m.author_type, "author_id": m.author_id, "internal": m.internal,
            "body": m.body if reveal else mask_text(m.body), "attachments": m.attachments, "channel": m.channel,
            "delivery_status": m.delivery_status, "created_at": m.created_at.isoformat()}


def ticket_out(t: Ticket) -> dict[str, Any]:
    data = ticket_summary(t)
    data.update(contact_id=t.contact_id, customer_tier=t.customer_tier, custom_fields=t.custom_fields,
                split_from_id=t.split_from_id, created_at=t.created_at.isoformat(),
                first_response_at=t.first_response_at.isoformat() if t.first_response_at else None,
                solved_at=t.solved_at.isoformat() if t.solved_at else None)
    return data


# ---------------------------------------------------------------- agents


@router.post("/agent/login")
def agent_login(body: AgentLoginIn, svc: Services = Depends(services)) -> dict[str, Any]:
    result = svc.agents.login(body.email, body.password, body.totp_code)
    return {"token": result.token, "agent_id": result.agent.id, "expires_at": str(result.expires_at)}


@router.get("/agent/me")
def agent_me(agent: AgentView = Depends(agent_with("customer.view"))) -> dict[str, Any]:
    return {"id": agent.id, "email": agent.email, "name": agent.name, "role": agent.role,
            "permissions": sorted(agent.permissions), "presence": agent.presence, "capacity": agent.capacity}


@router.put("/agent/me/presence", status_code=204)
def set_presence(body: PresenceIn, agent: AgentView = Depends(agent_with("customer.view")),
                 svc: Services = Depends(services)) -> None:
    svc.desk.routing.set_presence(agent.id, body.presence, actor=Actor.agent(agent.id))


# ---------------------------------------------------------------- tickets


@router.get("/tickets")
def list_tickets(status: list[str] = Query(default=[]), assignee: str | None = None, area: str | None = None,
                 channel: str | None = None, team_id: int | None = None, tag: str | None = None,
                 sla: str | None = None, order: str = "updated", limit: int = 25, cursor: str | None = None,
                 viewer: Viewer = Depends(desk_viewer()), svc: Services = Depends(services)) -> dict[str, Any]:
    page = svc.desk.inbox.tickets(viewer, TicketFilter(status=tuple(status), assignee=assignee, area=area,
                                                       channel=channel, team_id=team_id, tag=tag, sla=sla,
                                                       order=order), limit=limit, cursor=cursor)
    return {"items": [ticket_out(t) for t in page.items], "next_cursor": page.next_cursor}


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: int, viewer: Viewer = Depends(desk_viewer()),
               svc: Services = Depends(services)) -> dict[str, Any]:
    data = ticket_out(svc.desk.tickets.get(viewer, ticket_id))
    data["links"] = [{"kind": link.kind, "reference": link.reference}
                     for link in svc.desk.tickets.links(viewer, ticket_id)]
    return data


@router.patch("/tickets/{ticket_id}")
def patch_ticket(ticket_id: int, body: TicketPatch, viewer: Viewer = Depends(desk_viewer()),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    return ticket_out(svc.desk.tickets.update(viewer, ticket_id, **body.model_dump()))


@router.post("/tickets/{ticket_id}/status")
def set_status(ticket_id: int, body: StatusIn, viewer: Viewer = Depends(desk_viewer()),
               svc: Services = Depends(services)) -> dict[str, Any]:
    return ticket_out(svc.desk.tickets.set_status(viewer, ticket_id, body.status, reason=body.reason))


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: int, body: AssignIn, viewer: Viewer = Depends(desk_viewer()),
           svc: Services = Depends(services)) -> dict[str, Any]:
    return ticket_out(svc.desk.tickets.assign(viewer, ticket_id, agent_id=body.agent_id, team_id=body.team_id,
                                              reason=body.reason))


@router.get("/tickets/{ticket_id}/messages")
def list_messages(ticket_id: int, viewer: Viewer = Depends(desk_viewer()),
                  svc: Services = Depends(services)) -> dict[str, Any]:
    return {"items": [message_out(m) for m in svc.desk.conversations.messages(viewer, ticket_id)]}


@router.post("/tickets/{ticket_id}/messages", status_code=201)
def post_message(ticket_id: int, body: MessageIn, viewer: Viewer = Depends(desk_viewer()),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    message_id = svc.desk.conversations.reply(viewer, ticket_id, body.body, internal=body.internal)
    return {"id": message_id}


@router.post("/tickets/{ticket_id}/messages/{message_id}/reveal")
def reveal_message(ticket_id: int, message_id: int, body: RevealIn, viewer: Viewer = Depends(desk_viewer("pii.reveal")),
                   svc: Services = Depends(services)) -> dict[str, Any]:
    """The message in clear, for an agent with `pii.reveal`; the reason is audited."""
    message = next((m for m in svc.desk.conversations.messages(viewer, ticket_id) if m.id == message_id), None)
    if message is None:
        raise NotFound("message not found", message_id=message_id)
    with svc.db.transaction() as s:
        audit.record(s, at=svc.clock.now(), actor=Actor.agent(viewer.agent.id), action="pii.revealed",
                     subject_type="ticket", subject_id=ticket_id, reason=body.reason, message_id=message_id)
    return message_out(message, reveal=True)


@router.post("/tickets/{ticket_id}/links", status_code=201)
def link(ticket_id: int, body: LinkIn, viewer: Viewer = Depends(desk_viewer()),
         svc: Services = Depends(services)) -> dict[str, Any]:
    row = svc.desk.tickets.link(viewer, ticket_id, body.kind, body.reference)
    return {"kind": row.kind, "reference": row.reference}


@router.post("/tickets/{ticket_id}/merge")
def merge(ticket_id: int, body: MergeIn, viewer: Viewer = Depends(desk_viewer()),
          svc: Services = Depends(services)) -> dict[str, Any]:
    return ticket_out(svc.desk.tickets.merge(viewer, ticket_id, body.into, reason=body.reason))


@router.post("/tickets/{ticket_id}/split", status_code=201)
def split(ticket_id: int, body: SplitIn, viewer: Viewer = Depends(desk_viewer()),
          svc: Services = Depends(services)) -> dict[str, Any]:
    return ticket_out(svc.desk.tickets.split(viewer, ticket_id, body.message_ids, subject=body.subject))


@router.get("/tickets/{ticket_id}/audit")
def ticket_audit(ticket_id: int, viewer: Viewer = Depends(desk_viewer()),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    return {"items": [{"at": e.at.isoformat(), "actor_type": e.actor_type, "actor_id": e.actor_id,
                       "action": e.action, "reason": e.reason, "details": e.details}
                      for e in svc.desk.tickets.history(viewer, ticket_id)]}


@router.post("/tickets/{ticket_id}/macros/{macro_id}")
def apply_macro(ticket_id: int, macro_id: int, viewer: Viewer = Depends(desk_viewer()),
                svc: Services = Depends(services)) -> dict[str, Any]:
    return {"message_id": svc.desk.rules.apply_macro(viewer, ticket_id, macro_id)}


# ---------------------------------------------------------------- conversations, search, customers


@router.get("/conversations")
def list_conversations(channel: str | None = None, status: str | None = None, limit: int = 25,
                       cursor: str | None = None, viewer: Viewer = Depends(desk_viewer()),
                       svc: Services = Depends(services)) -> dict[str, Any]:
    page = svc.desk.inbox.conversations(viewer, channel=channel, status=status, limit=limit, cursor=cursor)
    return {"items": [{"id": c.id, "channel": c.channel, "status": c.status, "ticket_id": c.ticket_id,
                       "contact_id": c.contact_id, "handled_by": c.handled_by, "contained": c.contained,
                       "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None}
                      for c in page.items], "next_cursor": page.next_cursor}


@router.post("/inbound", status_code=202)
def inbound(body: InboundIn, agent: AgentView = Depends(agent_with("channel.ingest")),
            svc: Services = Depends(services)) -> dict[str, Any]:
    """A message from a channel integration (the channel adapters call the same function)."""
    got = svc.desk.conversations.receive(**body.model_dump())
    return {"ticket_id": got.ticket_id, "conversation_id": got.conversation_id, "message_id": got.message_id,
            "duplicate": got.duplicate}


@router.get("/search/tickets")
def search(q: str, status: str | None = None, limit: int = 20, viewer: Viewer = Depends(desk_viewer()),
           svc: Services = Depends(services)) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise ValidationFailed("limit is 1 to 100", field="limit")
    ids = svc.desk.search.search(viewer, q, limit=limit, status=status)
    return {"items": [ticket_out(t) for t in svc.desk.tickets.get_many(viewer, ids)]}


@router.get("/contacts/{contact_id}/360")
def customer_360(contact_id: int, viewer: Viewer = Depends(desk_viewer()),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    return svc.desk.customer360.of_contact(viewer, contact_id)
