"""Messages in and out: one model for every channel.

`receive` takes a customer's message from any channel (chat, email, WhatsApp...). It is
idempotent on the provider's message id, so a webhook delivered twice stores one message. It
finds or opens the conversation and its ticket and posts the message (`posting.do_post`), whose
handlers reopen a waiting ticket, start or resume the SLA clocks, run triggers and route. `reply`
is the agent's side: a reply goes out on the conversation's own channel through the outbox; a note
stays internal. The customer reads their own conversations in `customer_side.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, ValidationFailed
from ..platform.i18n import LANGUAGES
from .access import Viewer, access_ticket
from .attachments import carries_files
from .changes import check_tag
from .contacts import CustomerRef, contact_for_customer, live_contact, merge, normalize_identity, resolve
from .csat import Csat
from .lifecycle import Status, check_open
from .models import CHANNELS, PRIORITIES, SERVICE_AREAS, Contact, ContactIdentity, Conversation, Message, Ticket
from .posting import Author, Posting, check_body, conversation_of

# A message to a solved ticket within this time reopens it; later it starts a new ticket.
REOPEN_WINDOW = timedelta(days=7)


class CustomerDirectory(Protocol):
    """What the desk asks of the wallet's customer records (identity provides it)."""

    def find_by_address(self, kind: str, value: str) -> CustomerRef | None: ...
    def ref(self, customer_id: int) -> CustomerRef: ...


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message_id: int
    ticket_id: int
    duplicate: bool = False
    new_ticket: bool = False
    # The wallet customer behind the contact, as the unit of work that stored the message found it
    # (`customer_known`); a duplicate does not say, and the reader asks `customer_of`.
    customer_id: int | None = None
    customer_known: bool = False


@dataclass(frozen=True)
class Arrived:
    """What `do_receive` found or opened, live in the caller's unit of work."""

    contact: Contact
    conversation: Conversation
    ticket: Ticket
    message: Message
    new_ticket: bool

    @property
    def received(self) -> Received:
        return Received(self.conversation.id, self.message.id, self.ticket.id, new_ticket=self.new_ticket,
                        customer_id=self.contact.customer_id, customer_known=True)


def check_inbound(*, channel: str, body: str, area: str | None, priority: str,
                  language: str | None, has_files: bool = False) -> tuple[str, str | None]:
    """A customer's message as the desk takes it: a known channel, area and priority, a body that is
    text (NUL dropped, bounded; empty only beside files); an unknown language is no language.
    Returns the body and language."""
    if channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if area is not None and area not in SERVICE_AREAS:
        raise ValidationFailed("unknown service area", field="area")
    if priority not in PRIORITIES:
        raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    return check_body(body, may_be_empty=has_files), language if language in LANGUAGES else None


class Conversations:
    def __init__(self, db: Database, clock: Clock, posting: Posting, csat: Csat,
                 customers: CustomerDirectory) -> None:
        self.db = db
        self.clock = clock
        self.posting = posting
        self.csat = csat
        self.customers = customers

    # ---------------------------------------------------------------- inbound

    def receive(
        self, *, channel: str, identity_kind: str, identity_value: str, body: str,
        provider_message_id: str | None = None, thread: str | None = None, name: str | None = None,
        language: str | None = None, attachments: list[dict[str, Any]] | None = None, area: str | None = None,
        priority: str = "normal", subject: str | None = None, account_id: int | None = None,
        team_id: int | None = None,
    ) -> Received:
        body, language = check_inbound(channel=channel, body=body, area=area, priority=priority, language=language,
                                       has_files=carries_files(attachments))
        if provider_message_id and (seen := self.seen(channel, provider_message_id)) is not None:
            return seen
        customer = self.customer_at(identity_kind, identity_value)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                return self.do_receive(
                    s, channel=channel, identity_kind=identity_kind, identity_value=identity_value, body=body,
                    customer=customer, now=now, provider_message_id=provider_message_id, thread=thread, name=name,
                    language=language, attachments=attachments, area=area, priority=priority,
                    subject=subject, account_id=account_id, team_id=team_id).received
        except IntegrityError:
            # The same provider message arrived twice at once: the other copy won.
            if provider_message_id and (seen := self.seen(channel, provider_message_id)) is not None:
                return seen
            raise

    def _tier(self, customer: CustomerRef | None) -> str:
        if customer is None:
            return "basic"
        return customer.tier if customer.tier is not None else self.customers.tier(customer.id)

    def customer_at(self, identity_kind: str, identity_value: str) -> CustomerRef | None:
        """The wallet customer whose registered phone or email this address is (None: nobody's)."""
        try:
            return self.customers.find_by_address(identity_kind, identity_value)
        except DomainError:
            return None  # an address that is no phone or email of a customer: an unknown contact

    def do_receive(
        self, s: Session, *, channel: str, identity_kind: str, identity_value: str, body: str,
        customer: CustomerRef | None, now: datetime, provider_message_id: str | None = None,
        thread: str | None = None, name: str | None = None, language: str | None = None,
        attachments: list[dict[str, Any]] | None = None, area: str | None = None, priority: str = "normal",
        subject: str | None = None, tags: tuple[str, ...] = (), account_id: int | None = None,
        team_id: int | None = None,
    ) -> Arrived:
        """`receive` inside the caller's unit of work (the phone line adds its own steps to the same
        commit): the contact, its conversation, the ticket (new with `area`, `priority`, `subject` and
        `tags`, or the open one) and the message, posted through the one road. `account_id`: the channel
        account it came in on (its own conversation, whose replies leave from it); `team_id`: the team
        whose queue a new ticket waits in. The caller checked the
        provider's message id was not stored before; a race on it is an IntegrityError at commit."""
        body, language = check_inbound(channel=channel, body=body, area=area, priority=priority, language=language,
                                       has_files=carries_files(attachments))
        contact = resolve(s, identity_kind, identity_value, now, name=name, language=language, customer=customer)
        conversation = self._open_conversation(s, contact.id, channel, thread, now, account_id)
        ticket, new_ticket = self._ticket_for(
            s, conversation, now, body=body, area=area, priority=priority,
            language=language or contact.language or "zh-CN", tier=lambda: self._tier(customer),
            subject=subject, tags=tags, team_id=team_id)
        # A rating for the survey of a solved ticket is an answer, not news: nothing reopens.
        survey_answer = not new_ticket and ticket.status == Status.SOLVED and \
            self.csat.answer_in(s, ticket, body, now)
        message = self.posting.do_post(s, ticket, conversation, Author.contact(contact.id), body, now=now,
                                       attachments=attachments or [], provider_message_id=provider_message_id,
                                       opens_ticket=new_ticket, survey_answer=survey_answer)
        return Arrived(contact, conversation, ticket, message, new_ticket)

    def seen(self, channel: str, provider_message_id: str) -> Received | None:
        """The message a provider (or the app, by its client id) already gave under this id, if any."""
        with self.db.read() as s:
            row = s.execute(select(Message.conversation_id, Message.id, Message.ticket_id).where(
                Message.channel == channel, Message.provider_message_id == provider_message_id)).one_or_none()
        return Received(row[0], row[1], row[2], duplicate=True) if row else None

    def _open_conversation(self, s: Session, contact_id: int, channel: str, thread: str | None,
                           now: datetime, account_id: int | None = None) -> Conversation:
        # Two bots see one Telegram user in the same chat id: the account keeps their conversations apart.
        stmt = select(Conversation).where(Conversation.contact_id == contact_id, Conversation.channel == channel,
                                          Conversation.status == "open", Conversation.channel_account_id.is_(None)
                                          if account_id is None else Conversation.channel_account_id == account_id)
        if thread:
            stmt = stmt.where(Conversation.channel_thread == thread)
        conversation = s.execute(stmt.order_by(Conversation.id.desc()).limit(1)).scalar_one_or_none()
        if conversation is None:
            conversation = Conversation(contact_id=contact_id, channel=channel, channel_thread=thread, status="open",
                                        channel_account_id=account_id, handled_by="bot", created_at=now)
            s.add(conversation)
            s.flush()
        return conversation

    @staticmethod
    def _locked(s: Session, ticket_id: int) -> Ticket | None:
        # The same lock agents take: a customer message and a status change never interleave.
        return s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).scalar_one_or_none()

    def _ticket_for(self, s: Session, conversation: Conversation, now: datetime, *, body: str, area: str | None,
                    priority: str, language: str, tier: Callable[[], str], subject: str | None,
                    tags: tuple[str, ...] = (), team_id: int | None = None) -> tuple[Ticket, bool]:
        ticket = self._locked(s, conversation.ticket_id) if conversation.ticket_id else None
        while ticket is not None and ticket.merged_into_id is not None:
            ticket = self._locked(s, ticket.merged_into_id)
        if ticket is not None:
            reopenable = ticket.status == Status.SOLVED and ticket.solved_at and now - ticket.solved_at <= REOPEN_WINDOW
            if not Status(ticket.status).final and (ticket.status != Status.SOLVED or reopenable):
                return ticket, False
        ticket = Ticket(contact_id=conversation.contact_id, subject=(subject or next(iter(body.splitlines()),
                                                                                   "[attachments]"))[:200],
                        area=area or "general", priority=priority, status=Status.NEW.value,
                        channel=conversation.channel, language=language, customer_tier=tier(),
                        tags=sorted({check_tag(tag) for tag in tags}), team_id=team_id,
                        custom_fields={}, created_at=now, updated_at=now, sla_state="none")
        s.add(ticket)
        s.flush()
        conversation.ticket_id = ticket.id
        return ticket, True

    # ---------------------------------------------------------------- outbound

    def reply(self, viewer: Viewer, ticket_id: int, body: str, *, internal: bool = False,
              public: bool = False) -> int:
        """An agent's reply on the conversation's own channel, or an internal note. `public`: on a
        public comment, answered under the post for everyone to read (never personal data) rather
        than privately to the commenter."""
        if internal and public:
            raise ValidationFailed("a note is internal, not public", field="public")
        body = check_body(body)
        now = self.clock.now()
        with self.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            check_open(ticket.status)
            conversation = conversation_of(s, ticket)
            if conversation is None:
                raise Conflict("this ticket has no conversation to answer on", code="no_conversation")
            return self.posting.do_post(s, ticket, conversation, Author.agent(viewer.agent.id), body, now=now,
                                        internal=internal, public=public).id

    def messages(self, viewer: Viewer, ticket_id: int, *, include_internal: bool = True) -> list[Message]:
        with self.db.read() as s:
            access_ticket(s, viewer, ticket_id)
            stmt = select(Message).where(Message.ticket_id == ticket_id)
            if not include_internal:
                stmt = stmt.where(Message.internal.is_(False))
            return list(s.scalars(stmt.order_by(Message.id)))

    # ---------------------------------------------------------------- who the customer is

    def customer_of(self, conversation_id: int) -> int | None:
        """The wallet customer behind a conversation, if the contact is known to be one."""
        with self.db.read() as s:
            conversation = s.get(Conversation, conversation_id)
            if conversation is None:
                return None
            return live_contact(s, conversation.contact_id).customer_id

    def link_to_customer(self, conversation_id: int, customer_id: int, *, actor: Actor) -> None:
        """The person in this conversation proved to be this customer (a code to the registered
        phone): the conversation's contact joins the customer's contact."""
        customer = self.customers.ref(customer_id)
        now = self.clock.now()
        with self.db.transaction() as s:
            conversation = s.get(Conversation, conversation_id)
            if conversation is None:
                return
            target = contact_for_customer(s, customer, now)
            if live_contact(s, conversation.contact_id).id != target.id:
                merge(s, conversation.contact_id, target.id, actor=actor, now=now)

    def claim(self, identity_kind: str, identity_value: str, customer_id: int, *, actor: Actor) -> None:
        """The customer is the person behind this address (a web visitor's id: they hold its token and
        their own session): the address, with its contact's conversations and tickets, joins the
        customer's contact. Conflict when it already belongs to another customer."""
        value = normalize_identity(identity_kind, identity_value)
        customer = self.customers.ref(customer_id)
        now = self.clock.now()
        for attempt in (1, 2):
            try:
                with self.db.transaction() as s:
                    target = contact_for_customer(s, customer, now)
                    identity = s.execute(select(ContactIdentity).where(
                        ContactIdentity.kind == identity_kind, ContactIdentity.value == value)).scalar_one_or_none()
                    if identity is None:
                        s.add(ContactIdentity(contact_id=target.id, kind=identity_kind, value=value, verified=True,
                                              created_at=now))
                    elif live_contact(s, identity.contact_id).id != target.id:
                        merge(s, identity.contact_id, target.id, actor=actor, now=now)
                return
            except IntegrityError:
                # The address (or the customer's contact) was made at the same moment, by the visitor's
                # first message or a second tab claiming it: the second try finds it and merges.
                if attempt == 2:
                    raise

    def channel_of(self, conversation_id: int) -> str | None:
        with self.db.read() as s:
            return s.scalar(select(Conversation.channel).where(Conversation.id == conversation_id))

    def email_of(self, conversation_id: int) -> str | None:
        """Where the person in this conversation can be e-mailed: their customer record's address,
        else an e-mail address their contact wrote from (a verified one first); None: nowhere."""
        with self.db.read() as s:
            conversation = s.get(Conversation, conversation_id)
            if conversation is None:
                return None
            contact = live_contact(s, conversation.contact_id)
            written = s.scalars(select(ContactIdentity.value).where(
                ContactIdentity.contact_id == contact.id, ContactIdentity.kind == "email")
                .order_by(ContactIdentity.verified.desc(), ContactIdentity.id)).first()
            customer_id = contact.customer_id
        registered = self.customers.ref(customer_id).email if customer_id is not None else None
        return registered or written

    def contact(self, conversation_id: int) -> Contact | None:
        with self.db.read() as s:
            conversation = s.get(Conversation, conversation_id)
            return live_contact(s, conversation.contact_id) if conversation else None
