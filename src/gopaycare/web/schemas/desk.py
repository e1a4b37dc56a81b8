"""The help desk API's bodies and answers: agents, tickets, messages, conversations, Customer 360.

Customer text (ticket subjects, message bodies) is masked here unless the agent revealed it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...desk.agents import AgentLogin, AgentView
from ...desk.conversations import Received
from ...desk.models import Conversation, Message, Ticket, TicketLink
from ...platform.audit import AuditEntry
from ...platform.pii import mask_text, mask_value
from .attachments import AGENT_PATH, AttachmentOut, files_of
from .common import Id, In, Language, Out, Timestamp
from .customer import CustomerOut
from .wallet import WalletOut

# ---------------------------------------------------------------- bodies


class AgentLoginIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)
    totp_code: str | None = Field(default=None, max_length=64)
    recovery_code: str | None = Field(default=None, max_length=64, description="in place of totp_code, once")


class PresenceIn(In):
    presence: str = Field(pattern="^(online|away|offline)$")


class TicketPatch(In):
    priority: str | None = None
    area: str | None = None
    subject: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class TicketStatusIn(In):
    status: str
    reason: str | None = Field(default=None, max_length=200)


class AssignIn(In):
    agent_id: Id | None = None
    team_id: Id | None = None
    reason: str | None = Field(default=None, max_length=200)


class MessageIn(In):
    body: str
    internal: bool = False
    public: bool = Field(default=False, description="on a public comment: answer under the post for everyone "
                         "to read (refused with personal data) instead of privately to the commenter")


class LinkIn(In):
    kind: str = Field(pattern="^(transaction|refund)$")
    reference: str = Field(min_length=4, max_length=40)


class MergeIn(In):
    into: Id
    reason: str = Field(min_length=3, max_length=200)


class SplitIn(In):
    message_ids: list[Id]
    subject: str | None = Field(default=None, max_length=200)


class InboundIn(In):
    channel: str
    identity_kind: str
    identity_value: str
    body: str
    provider_message_id: str | None = Field(default=None, max_length=200)
    thread: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=120)
    language: Language | None = None
    area: str | None = None


# ---------------------------------------------------------------- agents


class AgentLoginOut(Out):
    token: str
    agent_id: int
    expires_at: str = Field(description='str() of the expiry time: "2026-11-25 15:00:00+00:00"')

    @classmethod
    def of(cls, result: AgentLogin) -> AgentLoginOut:
        return cls(token=result.token, agent_id=result.agent.id, expires_at=str(result.expires_at))


class AgentOut(Out):
    id: int
    email: str
    name: str
    role: str
    permissions: list[str]
    presence: str
    capacity: int

    @classmethod
    def of(cls, agent: AgentView) -> AgentOut:
        return cls(id=agent.id, email=agent.email, name=agent.name, role=agent.role,
                   permissions=sorted(agent.permissions), presence=agent.presence, capacity=agent.capacity)


# ---------------------------------------------------------------- tickets


class TicketOut(Out):
    id: int
    subject: str = Field(description="masked: customer text")
    status: str
    priority: str
    area: str
    channel: str
    language: str
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    sla_state: str
    sla_next_due_at: Timestamp | None
    merged_into_id: int | None
    updated_at: Timestamp
    contact_id: int
    customer_tier: str
    custom_fields: dict[str, Any]
    split_from_id: int | None
    created_at: Timestamp
    first_response_at: Timestamp | None
    solved_at: Timestamp | None

    @classmethod
    def fields_of(cls, t: Ticket) -> dict[str, Any]:
        return dict(id=t.id, subject=mask_text(t.subject), status=t.status, priority=t.priority, area=t.area,
                    channel=t.channel, language=t.language, assignee_id=t.assignee_id, team_id=t.team_id,
                    tags=list(t.tags or []), sla_state=t.sla_state, sla_next_due_at=t.sla_next_due_at,
                    merged_into_id=t.merged_into_id, updated_at=t.updated_at, contact_id=t.contact_id,
                    customer_tier=t.customer_tier, custom_fields=mask_value(t.custom_fields),
                    split_from_id=t.split_from_id, created_at=t.created_at, first_response_at=t.first_response_at,
                    solved_at=t.solved_at)

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls(**cls.fields_of(t))


class LinkOut(Out):
    kind: str = Field(description="transaction | refund")
    reference: str

    @classmethod
    def of(cls, link: TicketLink) -> LinkOut:
        return cls(kind=link.kind, reference=link.reference)


class TicketDetailOut(TicketOut):
    links: list[LinkOut]

    @classmethod
    def with_links(cls, t: Ticket, links: list[TicketLink]) -> TicketDetailOut:
        return cls(**cls.fields_of(t), links=[LinkOut.of(link) for link in links])


class TicketPage(Out):
    items: list[TicketOut]
    next_cursor: str | None


class TicketList(Out):
    items: list[TicketOut]


class AuditEntryOut(Out):
    at: Timestamp
    actor_type: str
    actor_id: str | None
    action: str
    reason: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        # Old subjects, reasons and values are customer text: masked like every other road to an agent.
        return cls(at=e.at, actor_type=e.actor_type, actor_id=e.actor_id, action=e.action,
                   reason=mask_value(e.reason), details=mask_value(e.details))


class AuditTrail(Out):
    items: list[AuditEntryOut]


# ---------------------------------------------------------------- messages, conversations


class MessageOut(Out):
    id: int
    ticket_id: int | None
    conversation_id: int
    direction: str
    author_type: str
    author_id: int | None
    internal: bool
    body: str = Field(description="masked (phones, emails, ID and card numbers) unless revealed")
    files: list[AttachmentOut] = Field(description="the files it carries (names masked unless revealed)")
    attachments: list[dict[str, Any]] = Field(description="what else it carries: an email's full text, a broken "
                                                          "mail's raw text, a call's recording link")
    channel: str
    delivery_status: str
    created_at: Timestamp

    @classmethod
    def of(cls, m: Message, *, reveal: bool = False) -> MessageOut:
        return cls(id=m.id, ticket_id=m.ticket_id, conversation_id=m.conversation_id, direction=m.direction,
                   author_type=m.author_type, author_id=m.author_id, internal=m.internal,
                   body=m.body if reveal else mask_text(m.body),
                   files=files_of(m.attachments, AGENT_PATH, mask=not reveal),
                   attachments=[a for a in m.attachments if "state" not in a], channel=m.channel,
                   delivery_status=m.delivery_status, created_at=m.created_at)


class MessageList(Out):
    items: list[MessageOut]


class MessageIdOut(Out):
    id: int


class TypingOut(Out):
    passed_on: bool = Field(description="false when a signal for this conversation went out less than ~2 s ago")


class MacroOut(Out):
    message_id: int | None = Field(description="the reply the macro posted, if it has one")


class ConversationOut(Out):
    id: int
    channel: str
    status: str
    ticket_id: int | None
    contact_id: int
    handled_by: str
    contained: bool | None
    last_message_at: Timestamp | None

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(id=c.id, channel=c.channel, status=c.status, ticket_id=c.ticket_id, contact_id=c.contact_id,
                   handled_by=c.handled_by, contained=c.contained, last_message_at=c.last_message_at)


class ConversationPage(Out):
    items: list[ConversationOut]
    next_cursor: str | None


class InboundOut(Out):
    ticket_id: int
    conversation_id: int
    message_id: int
    duplicate: bool

    @classmethod
    def of(cls, got: Received) -> InboundOut:
        return cls(ticket_id=got.ticket_id, conversation_id=got.conversation_id, message_id=got.message_id,
                   duplicate=got.duplicate)


# ---------------------------------------------------------------- Customer 360


class ContactOut(Out):
    id: int
    name: str | None
    language: str | None


class IdentityOut(Out):
    kind: str
    value: str = Field(description="masked for phones and emails")
    verified: bool


class PastTicketOut(Out):
    id: int
    subject: str
    status: str
    area: str
    channel: str
    created_at: Timestamp


class RecentTransactionOut(Out):
    reference: str
    kind: str
    status: str
    amount: int
    direction: str
    merchant: str | None
    failure_reason: str | None
    failure_details: dict[str, Any]
    refundable_amount: int
    pending_too_long: bool
    created_at: Timestamp


class RefundOut(Out):
    reference: str
    original: str | None
    amount: int
    status: str
    created_at: Timestamp


class Customer360Out(Out):
    contact: ContactOut
    customer: CustomerOut | None
    identities: list[IdentityOut]
    tickets: list[PastTicketOut]
    wallet: WalletOut | None
    transactions: list[RecentTransactionOut]
    refunds: list[RefundOut]

    @classmethod
    def of(cls, view: dict[str, Any]) -> Customer360Out:
        # The desk hands a JSON-ready dict (timestamps as text): read it leniently, answer it as is.
        return cls.model_validate(view, strict=False)
