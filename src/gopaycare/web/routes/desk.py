"""The agents' REST API for the help desk: tickets, messages, inbox, search, Customer 360.

Routes only translate: authenticate, parse, call one desk function, shape the answer. Customer
text is masked (phones, emails, ID and card numbers) unless the agent reveals it with a reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...desk.inbox import TicketFilter
from ...platform.audit import Actor
from ..deps import NO_STORE, CanViewCustomers, DeskViewer, Integration, RevealingViewer, Svc
from ..params import PageCursor, PageLimit
from ..schemas.common import Id
from ..schemas.customer import RevealIn
from ..schemas.desk import (
    AgentLoginIn,
    AgentLoginOut,
    AgentOut,
    AssignIn,
    AuditEntryOut,
    AuditTrail,
    ConversationOut,
    ConversationPage,
    Customer360Out,
    InboundIn,
    InboundOut,
    LinkIn,
    LinkOut,
    MacroOut,
    MergeIn,
    MessageIdOut,
    MessageIn,
    MessageList,
    MessageOut,
    PresenceIn,
    SplitIn,
    TicketDetailOut,
    TicketList,
    TicketOut,
    TicketPage,
    TicketPatch,
    TicketStatusIn,
    TypingOut,
)

router = APIRouter(prefix="/api/v1", tags=["help desk"])

Text = str | None


# ---------------------------------------------------------------- agents


@router.post("/agent/login", dependencies=NO_STORE)
def agent_login(body: AgentLoginIn, svc: Svc) -> AgentLoginOut:
    return AgentLoginOut.of(svc.agents.login(body.email, body.password, body.totp_code, body.recovery_code))


@router.get("/agent/me")
def agent_me(agent: CanViewCustomers) -> AgentOut:
    return AgentOut.of(agent)


@router.put("/agent/me/presence", status_code=204)
def set_presence(body: PresenceIn, agent: CanViewCustomers, svc: Svc) -> None:
    svc.desk.routing.set_presence(agent.id, body.presence, actor=Actor.agent(agent.id))


# ---------------------------------------------------------------- tickets


@router.get("/tickets")
def list_tickets(viewer: DeskViewer, svc: Svc, status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies it
                 assignee: Text = None, area: Text = None, channel: Text = None, team_id: Id | None = None,
                 tag: Annotated[str | None, Query(max_length=40)] = None, sla: Text = None, order: str = "updated",
                 limit: PageLimit = 25, cursor: PageCursor = None) -> TicketPage:
    page = svc.desk.inbox.tickets(viewer, TicketFilter(status=tuple(status), assignee=assignee, area=area,
                                                       channel=channel, team_id=team_id, tag=tag, sla=sla,
                                                       order=order), limit=limit, cursor=cursor)
    return TicketPage(items=[TicketOut.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: Id, viewer: DeskViewer, svc: Svc) -> TicketDetailOut:
    return TicketDetailOut.with_links(svc.desk.tickets.get(viewer, ticket_id),
                                      svc.desk.tickets.links(viewer, ticket_id))


@router.patch("/tickets/{ticket_id}")
def patch_ticket(ticket_id: Id, body: TicketPatch, viewer: DeskViewer, svc: Svc) -> TicketOut:
    return TicketOut.of(svc.desk.tickets.update(viewer, ticket_id, **body.model_dump()))


@router.post("/tickets/{ticket_id}/status")
def set_status(ticket_id: Id, body: TicketStatusIn, viewer: DeskViewer, svc: Svc) -> TicketOut:
    return TicketOut.of(svc.desk.tickets.set_status(viewer, ticket_id, body.status, reason=body.reason))


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: Id, body: AssignIn, viewer: DeskViewer, svc: Svc) -> TicketOut:
    return TicketOut.of(svc.desk.tickets.assign(viewer, ticket_id, agent_id=body.agent_id, team_id=body.team_id,
                                                reason=body.reason))


@router.get("/tickets/{ticket_id}/messages")
def list_messages(ticket_id: Id, viewer: DeskViewer, svc: Svc) -> MessageList:
    return MessageList(items=[MessageOut.of(m) for m in svc.desk.conversations.messages(viewer, ticket_id)])


@router.post("/tickets/{ticket_id}/messages", status_code=201)
def post_message(ticket_id: Id, body: MessageIn, viewer: DeskViewer, svc: Svc) -> MessageIdOut:
    return MessageIdOut(id=svc.desk.conversations.reply(viewer, ticket_id, body.body, internal=body.internal,
                                                        public=body.public))


@router.post("/tickets/{ticket_id}/messages/{message_id}/reveal")
def reveal_message(ticket_id: Id, message_id: Id, body: RevealIn, viewer: RevealingViewer, svc: Svc) -> MessageOut:
    """The message in clear, for an agent with `pii.reveal`; the reason is audited."""
    return MessageOut.of(svc.desk.reveal.message(viewer, ticket_id, message_id, reason=body.reason), reveal=True)


@router.post("/tickets/{ticket_id}/links", status_code=201)
def link(ticket_id: Id, body: LinkIn, viewer: DeskViewer, svc: Svc) -> LinkOut:
    return LinkOut.of(svc.desk.tickets.link(viewer, ticket_id, body.kind, body.reference))


@router.post("/tickets/{ticket_id}/merge")
def merge(ticket_id: Id, body: MergeIn, viewer: DeskViewer, svc: Svc) -> TicketOut:
    return TicketOut.of(svc.desk.tickets.merge(viewer, ticket_id, body.into, reason=body.reason))


@router.post("/tickets/{ticket_id}/split", status_code=201)
def split(ticket_id: Id, body: SplitIn, viewer: DeskViewer, svc: Svc) -> TicketOut:
    return TicketOut.of(svc.desk.tickets.split(viewer, ticket_id, body.message_ids, subject=body.subject))


@router.get("/tickets/{ticket_id}/audit")
def ticket_audit(ticket_id: Id, viewer: DeskViewer, svc: Svc) -> AuditTrail:
    return AuditTrail(items=[AuditEntryOut.of(e) for e in svc.desk.tickets.history(viewer, ticket_id)])


@router.post("/tickets/{ticket_id}/macros/{macro_id}")
def apply_macro(ticket_id: Id, macro_id: Id, viewer: DeskViewer, svc: Svc) -> MacroOut:
    return MacroOut(message_id=svc.desk.rules.apply_macro(viewer, ticket_id, macro_id))


# ---------------------------------------------------------------- conversations, search, customers


@router.get("/conversations")
def list_conversations(viewer: DeskViewer, svc: Svc, channel: Text = None, status: Text = None,
                       limit: PageLimit = 25, cursor: PageCursor = None) -> ConversationPage:
    page = svc.desk.inbox.conversations(viewer, channel=channel, status=status, limit=limit, cursor=cursor)
    return ConversationPage(items=[ConversationOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/conversations/{conversation_id}/typing", status_code=202)
def typing(conversation_id: Id, viewer: DeskViewer, svc: Svc) -> TypingOut:
    """The agent is typing a reply: the customer's live chat shows it (and the agents following the
    ticket). Ephemeral: nothing is stored, a lost signal costs nothing; call it every few seconds
    while typing (throttled to one per ~2 s per conversation)."""
    return TypingOut(passed_on=svc.desk.typing.agent_typing(viewer, conversation_id))


@router.post("/inbound", status_code=202)
def inbound(body: InboundIn, _: Integration, svc: Svc) -> InboundOut:
    """A message from a channel integration (the channel adapters call the same function)."""
    return InboundOut.of(svc.desk.conversations.receive(**body.model_dump()))


@router.get("/search/tickets")
def search(q: str, viewer: DeskViewer, svc: Svc, status: Text = None,
           limit: PageLimit = 20) -> TicketList:
    ids = svc.desk.search.search(viewer, q, limit=limit, status=status)
    return TicketList(items=[TicketOut.of(t) for t in svc.desk.tickets.get_many(viewer, ids)])


@router.get("/contacts/{contact_id}/360")
def customer_360(contact_id: Id, viewer: DeskViewer, svc: Svc) -> Customer360Out:
    return Customer360Out.of(svc.desk.customer360.of_contact(viewer, contact_id))
