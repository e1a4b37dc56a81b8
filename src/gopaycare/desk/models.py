"""Help desk tables: agents and teams, contacts and their channel identities, conversations and
messages, tickets with their SLA clocks, rules (triggers, macros, automations), CSAT, and the
agent event stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime
from ..vocabulary import SERVICE_AREAS

PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("new", "open", "pending_customer", "on_hold", "solved", "closed", "merged")
# "chat": the GoPay app's chat (a logged-in customer); "web": the website's chat widget (anonymous visitors).
CHANNELS = ("chat", "web", "phone", "email", "whatsapp", "telegram", "wechat", "messenger", "instagram", "api")
IDENTITY_KINDS = ("phone", "email", "whatsapp", "telegram", "wechat", "messenger", "instagram", "chat", "visitor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# ---------------------------------------------------------------- agents, roles, teams


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    presence: Mapped[str] = mapped_column(String(8), nullable=False, default="offline")
    capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Wrong passwords or codes in a row; at the limit the account locks until an admin unlocks it.
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A TOTP secret enrolled but not confirmed with a code yet (login does not ask for it until then).
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is good once, not again within its window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint(_in("presence", ("online", "away", "offline")), name="presence"),)


class CustomRole(Base):
    """A role built from named permissions, beside the built-in agent/supervisor/admin."""

    __tablename__ = "custom_roles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="api")  # api | session
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AgentRecoveryCode(Base):
    """A two-step recovery code (hashed), good for one login when the authenticator is lost."""

    __tablename__ = "agent_recovery_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    areas: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)


# ---------------------------------------------------------------- contacts


class Contact(Base):
    """A person who reaches support: a wallet customer, or someone not (yet) known."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(5))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ContactIdentity(Base):
    """One address of a contact on one channel: phone (E.164), email (lower case), WhatsApp id..."""

    __tablename__ = "contact_identities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    value: Mapped[str] = mapped_column(String(254), nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint(_in("kind", IDENTITY_KINDS), name="kind"),
    )


# ---------------------------------------------------------------- tickets and conversations


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    area: Mapped[str] = mapped_column(String(16), nullable=False, default="general")
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="new")
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh-CN")
    customer_tier: Mapped[str] = mapped_column(String(8), nullable=False, default="basic")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    handled_by_bot: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA clocks, kept on the row so the inbox can sort and filter by them with an index.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    sla_next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_state: Mapped[str] = mapped_column(String(8), nullable=False, default="none")
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(_in("area", SERVICE_AREAS), name="area"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in("sla_state", ("none", "active", "paused", "warning", "breached", "met")),
                        name="sla_state"),
        # The inbox queries: my open tickets, unassigned by area, SLA breaching soon.
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at"),
        # The queue: unassigned tickets waiting, per area, oldest first (read in index order).
        Index("ix_tickets_queue_area", "area", "created_at", "id",
              postgresql_where=text("assignee_id IS NULL AND status IN ('new', 'open')"),
              sqlite_where=text("assignee_id IS NULL AND status IN ('new', 'open')")),
        # Running SLA clocks by due time: breached tickets pile up and must not be walked over.
        Index("ix_tickets_sla_running", "sla_next_due_at", "id",
              postgresql_where=text("sla_state IN ('active', 'warning') AND sla_next_due_at IS NOT NULL"),
              sqlite_where=text("sla_state IN ('active', 'warning') AND sla_next_due_at IS NOT NULL")),
        Index("ix_tickets_sla_due", "sla_next_due_at",
              postgresql_where=text("sla_next_due_at IS NOT NULL"), sqlite_where=text("sla_next_due_at IS NOT NULL")),
        # The console's "by service area" and "by channel" views: open tickets, latest change first.
        Index("ix_tickets_open_area_updated", "area", "updated_at", "id",
              postgresql_where=text("status IN ('new', 'open', 'pending_customer')"),
              sqlite_where=text("status IN ('new', 'open', 'pending_customer')")),
        Index("ix_tickets_open_channel_updated", "channel", "updated_at", "id",
              postgresql_where=text("status IN ('new', 'open', 'pending_customer')"),
              sqlite_where=text("status IN ('new', 'open', 'pending_customer')")),
        # The console's "unassigned" view (every area): open unassigned tickets, oldest first.
        Index("ix_tickets_unassigned_created", "created_at", "id",
              postgresql_where=text("assignee_id IS NULL AND status IN ('new', 'open', 'pending_customer')"),
              sqlite_where=text("assignee_id IS NULL AND status IN ('new', 'open', 'pending_customer')")),
        Index("ix_tickets_contact", "contact_id", "created_at"),
        Index("ix_tickets_status_id", "status", "id"),
    )


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    # The channel-side address of the thread (chat session id, email thread, WhatsApp number...).
    channel_thread: Mapped[str | None] = mapped_column(String(254))
    # The channel account it came in on (a WhatsApp number, a bot: channels/accounts.py), which its
    # replies leave from; None: the one the channel settings define.
    channel_account_id: Mapped[int | None] = mapped_column(BigInteger)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    handled_by: Mapped[str] = mapped_column(String(8), nullable=False, default="bot")  # bot | human
    contained: Mapped[bool | None] = mapped_column(Boolean)  # ended without a human?
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last sequence number given to a message the customer sees (see desk/sequence.py).
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    # Where an agent's reply the customer has not read on the chat in time is e-mailed too (they were
    # told so when no agent was online, desk/follow_ups.py); None: the chat only.
    follow_up_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("status", ("open", "closed")), name="status"),
        Index("ix_conversations_ticket", "ticket_id"),
        # The follow-up sweep reads only the few conversations that have an address, recent first.
        Index("ix_conversations_follow_up", "last_message_at",
              postgresql_where=text("follow_up_email IS NOT NULL"), sqlite_where=text("follow_up_email IS NOT NULL")),
        Index("ix_conversations_contact", "contact_id", "id"),
        Index("ix_conversations_status_last", "status", "last_message_at"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), nullable=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    direction: Mapped[str] = mapped_column(String(3), nullable=False)  # in | out
    author_type: Mapped[str] = mapped_column(String(8), nullable=False)  # contact | agent | bot | system
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # an agents' note
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    delivery_status: Mapped[str] = mapped_column(String(10), nullable=False, default="received")
    # Its place in what the customer sees of the conversation, given when the customer can see it
    # (a customer's message when stored, a reply once sent); None: the customer does not see it.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        # A provider that delivers the same webhook twice must not create two messages.
        UniqueConstraint("channel", "provider_message_id"),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        CheckConstraint(_in("direction", ("in", "out")), name="direction"),
        CheckConstraint(_in("author_type", ("contact", "agent", "bot", "system")), name="author_type"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_ticket", "ticket_id", "id"),
    )


class TicketLink(Base):
    """A wallet transaction or refund linked to a ticket, by its public reference."""

    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # transaction | refund
    reference: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("ticket_id", "kind", "reference"),)


class TicketSearch(Base):
    """Word-segmented text of a ticket (subject, messages, notes) for full-text search."""

    __tablename__ = "ticket_search"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    tokens: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# ---------------------------------------------------------------- SLAs


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    timezone: Mapped[str] = mapped_column(String(40), nullable=False, default="Asia/Jakarta")
    # {"mon": [["08:00", "20:00"]], ...}; a missing day is closed. "24x7" calendars list every day.
    hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, nullable=False, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # ISO dates
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    priority: Mapped[str | None] = mapped_column(String(8))  # None: any priority
    customer_tier: Mapped[str | None] = mapped_column(String(8))  # None: any tier
    first_response_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    next_response_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    resolution_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    warn_before_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=15)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SlaTarget(Base):
    """One running SLA metric of a ticket, with the business time already used."""

    __tablename__ = "sla_targets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), nullable=False)
    metric: Mapped[str] = mapped_column(String(16), nullable=False)  # first_response | next_response | resolution
    target_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while paused
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # business seconds before pause
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_sla_targets_ticket_metric", "ticket_id", "metric"),
        Index("ix_sla_targets_open_due", "due_at",
              postgresql_where=text("fulfilled_at IS NULL"), sqlite_where=text("fulfilled_at IS NULL")),
    )


class SlaEvent(Base):
    """activated, paused, resumed, warned, breached, fulfilled: reports are rebuilt from these."""

    __tablename__ = "sla_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), nullable=False, index=True)
    metric: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


# ---------------------------------------------------------------- rules


class Macro(Base):
    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    reply: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)  # {lang: text}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Trigger(Base):
    """When an event happens and conditions hold, run actions (in `position` order)."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Automation(Base):
    """Time-based rule: tickets matching conditions for `after_hours` get actions (once)."""

    __tablename__ = "automations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # ticket status it looks at
    after_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AutomationRun(Base):
    """Which ticket an automation already acted on, so it acts once per ticket and status spell."""

    __tablename__ = "automation_runs"

    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    status_since: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# ---------------------------------------------------------------- the phone line

CALL_SOURCES = ("twilio", "cti")
# ringing → answered → ended, or missed (a PBX's call); queued (transferred to an agent), callback,
# voicemail or abandoned (gave up waiting) for the voice menu's calls.
CALL_STATES = ("ringing", "answered", "ended", "missed", "queued", "callback", "voicemail", "abandoned")


class PhoneCall(Base):
    """One call on the phone line, from our voice menu or a company PBX: the caller's number, the
    contact it belongs to, what became of the call and the ticket it is logged on."""

    __tablename__ = "phone_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(8), nullable=False)
    call_id: Mapped[str] = mapped_column(String(250), nullable=False)  # the provider's
    direction: Mapped[str] = mapped_column(String(3), nullable=False)  # in | out
    # The customer's number (E.164 when it is a valid one; '' when withheld) and our line's.
    number: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    line: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    state: Mapped[str] = mapped_column(String(10), nullable=False)
    language: Mapped[str | None] = mapped_column(String(5))
    area: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(80))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    answered_by: Mapped[str | None] = mapped_column(String(120))  # as the PBX named who answered
    cause: Mapped[str | None] = mapped_column(String(16))  # why it ended (the PBX's hangup cause)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source", "call_id"),
        CheckConstraint(_in("source", CALL_SOURCES), name="source"),
        CheckConstraint(_in("direction", ("in", "out")), name="direction"),
        CheckConstraint(_in("state", CALL_STATES), name="state"),
        Index("ix_phone_calls_contact", "contact_id", "started_at"),
        Index("ix_phone_calls_ticket", "ticket_id"),
    )


# ---------------------------------------------------------------- after the case


class CsatSurvey(Base):
    __tablename__ = "csat_surveys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), nullable=False, unique=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),)


class DeskEvent(Base):
    """The agents' event stream. `id` is the cursor a reconnecting client resumes from."""

    __tablename__ = "desk_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Who may see it: an agent id, a team id, or everyone with the permission (both NULL).
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class DeskEventSequence(Base):
    """Hands out event ids at commit time under a row lock, so ids become visible in order and a
    client resuming "after id N" can never miss an event that commits later with a smaller id."""

    __tablename__ = "desk_event_sequence"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
