"""The phone line on the desk: every call logged, linked to its contact by number, turned into a case.

Calls reach the desk as reports from the phone line's adapters (channels/twilio_voice.py for our own
voice menu, channels/cti.py for a company PBX), one per step, through the channels' intake. Each step
is one unit of work, and doing it twice changes nothing (a `phone_calls` row per call, and every
message carries the call id and step as its provider id):

  ringing      (PBX) the call is logged and linked to the contact whose number it is (creating none:
               a phone ringing is not yet a conversation); "call.ringing" goes to every agent with
               the number masked, whether it is a customer's and their account's state (locked,
               frozen), and the contact's open ticket, so the one who answers has the case at hand
  answered     (PBX) logged on the caller's phone ticket (the open one, or a new one), given to the
               agent who answered when the PBX names one of ours (email or id); "call.answered"
  ended        (PBX) a note with the duration on the call's ticket; "call.ended". A call the customer
               made that nobody answered (noAnswer, cancel, busy before any answer) is a missed call:
               a callback case, priority high (its SLA is the high-priority policy's)
  transfer     (menu) the case for the agent queue the caller waits in: a ticket routed like any other;
               "call.queued"
  callback     (menu) the caller asked to be called back: a callback case; "call.callback"
  voicemail    (menu, after hours) the recording's address on the case, as an attachment; a callback;
               "call.voicemail"
  transcription(menu) the recording's transcription, a note on the voicemail's case (a report that
               arrives before its voicemail is retried by the intake)
  abandoned    (menu) the caller hung up in the queue, or it was full: a callback case, priority high;
               "call.ended", missed like a PBX's

Cases go through `Conversations.do_receive` on channel "phone" (identity kind "phone"), the one road
every channel takes: the same contact as the customer's WhatsApp and wallet, SLA clocks, triggers and
routing follow from the events it publishes. A withheld number is logged and announced but makes no
case: there is no one to call back. Personal data stays out of the agents' events (numbers masked).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..identity.contacts import normalize_phone
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import ValidationFailed
from ..platform.pii import mask_phone
from .calendar import is_open
from .changes import TicketChange, TicketChanges, lock_ticket
from .contacts import CustomerRef, find_contact
from .conversations import Conversations
from .events import EventLog
from .lifecycle import Status
from .models import (
    CALL_SOURCES,
    PRIORITIES,
    Agent,
    Message,
    PhoneCall,
    Ticket,
)
from .posting import Author, Posting, conversation_of
from .sla_policies import calendar_named

log = logging.getLogger(__name__)

CHANNEL = "phone"
KINDS = ("ringing", "answered", "ended", "transfer", "callback", "voicemail", "transcription", "abandoned")
# A PBX's hangup causes that mean the customer did not get through (Zammad's Generic CTI).
MISSED_CAUSES = ("noAnswer", "cancel", "busy")
OPEN_STATUSES = (Status.NEW.value, Status.OPEN.value, Status.PENDING_CUSTOMER.value, Status.ON_HOLD.value)


@dataclass(frozen=True)
class CallReport:
    """One step of a call, as the phone line's adapters report it (their CallEvent, field for field)."""

    source: str  # twilio | cti
    call_id: str
    kind: str
    caller: str  # the customer's number as the provider gave it
    line: str = ""
    direction: str = "in"
    language: str | None = None
    area: str | None = None
    queue: str | None = None
    agent: str | None = None
    cause: str | None = None
    recording: dict[str, Any] | None = None
    text: str | None = None
    status: str | None = None


class CallNotReady(LookupError):
    """A report about a call the desk has not logged yet (a transcription before its voicemail): the
    intake retries it with backoff."""


@dataclass(frozen=True)
class Case:
    """What a step files: the message's heading and subject, its priority and tags."""

    title: str
    subject: str
    priority: str = "normal"
    tags: tuple[str, ...] = ("phone",)


CASES = {
    "answered": Case("📞 Phone call answered / 电话已接听 / Panggilan dijawab", "📞 Phone call"),
    "transfer": Case("📞 Phone call, waiting for an agent / 电话排队等待客服 / Panggilan menunggu agen",
                     "📞 Phone call"),
    "callback": Case("📞 Callback requested / 请求回电 / Minta ditelepon balik", "📞 Callback request",
                     tags=("phone", "callback")),
    "voicemail": Case("📞 Voicemail: call back / 语音留言，请回电 / Pesan suara: telepon balik", "📞 Voicemail",
                      tags=("phone", "voicemail", "callback")),
    "abandoned": Case("📞 Hung up while waiting for an agent: call back / 排队时挂断，请回电 / "
                      "Menutup telepon saat menunggu agen: telepon balik", "📞 Missed call: call back",
                      priority="high", tags=("phone", "callback", "missed_call")),
    "missed": Case("📞 Missed call: call back / 未接来电，请回电 / Panggilan tak terjawab: telepon balik",
                   "📞 Missed call: call back", priority="high", tags=("phone", "callback", "missed_call")),
}


def phone_number(raw: str) -> str:
    """The caller's number in E.164, or '' when it is withheld or no phone number."""
    try:
        return normalize_phone(raw) if raw and any(ch.isdigit() for ch in raw) else ""
    except ValidationFailed:
        return ""


def _provider_id(report: CallReport, step: str) -> str:
    """The message id of a call's step (long PBX call ids by digest: the column holds 200)."""
    call_id = report.call_id if len(report.call_id) <= 120 else \
        "sha256-" + hashlib.sha256(report.call_id.encode()).hexdigest()
    return f"{report.source}:{call_id}:{step}"


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


class PhoneCalls:
    def __init__(self, db: Database, clock: Clock, conversations: Conversations, changes: TicketChanges,
                 posting: Posting, events: EventLog) -> None:
        self.db = db
        self.clock = clock
        self.conversations = conversations
        self.changes = changes
        self.posting = posting
        self.events = events

    # ---------------------------------------------------------------- business hours

    def line_open(self, at: datetime, calendar_name: str | None) -> bool:
        """Whether agents answer at `at`: the named business calendar (the SLAs' calendars, with their
        holidays) says so; no calendar named means around the clock. A name that matches no calendar
        counts as open, and is logged: callers then reach a queue rather than only a voicemail."""
        if not calendar_name:
            return True
        with self.db.read() as s:
            calendar = calendar_named(s, calendar_name)
        if calendar is None:
            log.warning("the phone line's business calendar does not exist; the line counts as open",
                        extra={"calendar": calendar_name[:80]})
            return True
        return is_open(at, calendar)

    # ---------------------------------------------------------------- reports

    def take(self, report: CallReport) -> str:
        """Do what one step of a call asks on the desk; returns what the call became."""
        if report.kind not in KINDS or report.source not in CALL_SOURCES or report.direction not in ("in", "out"):
            raise ValueError(f"not a call report the desk takes: {report.source}/{report.kind}")
        number = phone_number(report.caller)
        customer = self.conversations.customer_at("phone", number) if number else None
        handler = getattr(self, f"_{report.kind}")
        try:
            return handler(report, number, customer)
        except IntegrityError:
            # Two steps of one call logged it at once (or the same message twice): the other won;
            # once more sees its row.
            return handler(report, number, customer)

    def _ringing(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        now = self.clock.now()
        with self.db.transaction() as s:
            call, created = self._call(s, report, number, "ringing", now)
            contact = find_contact(s, "phone", number, customer) if number else None
            if contact is not None:
                call.contact_id = contact.id
            if created:
                open_ticket = self._open_ticket(s, call.contact_id)
                account = None if customer is None else "frozen" if customer.frozen else \
                    "locked" if customer.locked else "active"
                self.events.emit(s, "call.ringing", at=now, **self._payload(call), customer=customer is not None,
                                 account=account, open_ticket_id=open_ticket)
            return call.state

    def _answered(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        now = self.clock.now()
        with self.db.transaction() as s:
            call, _ = self._call(s, report, number, "answered", now)
            if call.answered_at is None:
                call.answered_at = now
            if call.state == "ringing":
                call.state = "answered"
            agent = self._agent(s, report.agent)
            call.answered_by = (report.agent or "")[:120] or call.answered_by
            call.agent_id = agent.id if agent is not None else call.agent_id
            ticket = None
            if number and report.direction == "in":
                ticket = self._case(s, report, number, customer, now, "answered",
                                    [f"answered by: {report.agent or '-'}"])
            elif number:  # an agent's call to the customer (a callback): logged on their open case
                ticket = self._contact_ticket(s, call, number, customer)
                if ticket is not None:
                    self._note(s, ticket, report, "answered", now,
                               "📞 Called the customer: answered / 已致电客户，已接通 / Menelepon pelanggan: dijawab",
                               [f"by: {report.agent or '-'}"])
            if ticket is not None:
                call.ticket_id = ticket.id
                if agent is not None and ticket.assignee_id != agent.id and not Status(ticket.status).final:
                    self.changes.do_change(s, ticket, TicketChange(assignee_id=agent.id), actor=Actor.system(),
                                           now=now, reason="answered the phone call")
            self._announce(s, "call.answered", call, ticket, now, answered_by=agent.id if agent else None)
            return call.state

    def _ended(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        now = self.clock.now()
        with self.db.transaction() as s:
            call, _ = self._call(s, report, number, "ringing", now)
            if call.state in ("ended", "missed"):
                return call.state  # told twice
            call.ended_at, call.cause = now, (report.cause or "")[:16] or None
            ticket = None
            if call.answered_at is None and report.cause in MISSED_CAUSES and report.direction == "in":
                call.state = "missed"
                if number:
                    ticket = self._case(s, report, number, customer, now, "missed",
                                        [f"cause: {report.cause}", f"queue: {call.queue or '-'}"])
                    call.ticket_id = ticket.id
            else:
                call.state = "ended"
                if call.ticket_id is not None:
                    ticket = self._live_ticket(s, call.ticket_id)
                    talked = _duration((now - call.answered_at).total_seconds()) if call.answered_at else "-"
                    self._note(s, ticket, report, "ended", now, "📞 Call ended / 通话结束 / Panggilan selesai",
                               [f"duration: {talked}", f"cause: {call.cause or '-'}"])
            self._announce(s, "call.ended", call, ticket, now, missed=call.state == "missed", cause=call.cause)
            return call.state

    def _transfer(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        return self._menu_case(report, number, customer, "queued", "call.queued")

    def _callback(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        return self._menu_case(report, number, customer, "callback", "call.callback")

    def _voicemail(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        return self._menu_case(report, number, customer, "voicemail", "call.voicemail")

    def _abandoned(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        return self._menu_case(report, number, customer, "abandoned", "call.ended", missed=True)

    def _menu_case(self, report: CallReport, number: str, customer: CustomerRef | None, state: str,
                   kind: str, **extra: Any) -> str:
        now = self.clock.now()
        with self.db.transaction() as s:
            call, _ = self._call(s, report, number, state, now)
            if not (call.state == "abandoned" and state == "queued"):  # the transfer filed after the hang-up
                call.state = state
            if state == "abandoned" and call.ended_at is None:
                call.ended_at = now
            ticket = None
            if number:
                details = [f"area: {report.area or '-'}", f"language: {report.language or '-'}"]
                if report.queue:
                    details.append(f"queue: {report.queue}")
                attachments: list[dict[str, Any]] = []
                if report.kind == "voicemail":
                    recording = report.recording or {}
                    if recording.get("url"):
                        attachments.append(recording)
                        seconds = recording.get("duration")
                        details.append(f"recording: {recording['url']}"
                                       + (f" ({_duration(seconds)})" if isinstance(seconds, int) else ""))
                    else:
                        details.append("recording: none (the caller left no message)")
                ticket = self._case(s, report, number, customer, now, report.kind, details, attachments=attachments)
                call.ticket_id = ticket.id
            self._announce(s, kind, call, ticket, now, **extra)
            return call.state

    def _transcription(self, report: CallReport, number: str, customer: CustomerRef | None) -> str:
        now = self.clock.now()
        with self.db.transaction() as s:
            call = self._find(s, report)
            if call is None or call.ticket_id is None:
                if call is not None and not call.number:
                    return call.state  # a withheld number's voicemail made no case: nothing to note
                raise CallNotReady(f"the voicemail of call {report.call_id[:64]} is not on the desk yet")
            ticket = self._live_ticket(s, call.ticket_id)
            status = report.status or ("completed" if report.text else "failed")
            self._note(s, ticket, report, "transcription", now,
                       "📝 Voicemail transcription / 语音留言转写 / Transkrip pesan suara",
                       [report.text or f"(no transcription: {status})"],
                       attachments=[{"type": "transcription", "status": status,
                                     "recording_id": (report.recording or {}).get("provider_id")}])
            return call.state

    # ---------------------------------------------------------------- the parts

    @staticmethod
    def _find(s: Session, report: CallReport) -> PhoneCall | None:
        return s.execute(select(PhoneCall).where(PhoneCall.source == report.source,
                                                 PhoneCall.call_id == report.call_id)
                         .with_for_update()).scalar_one_or_none()

    def _call(self, s: Session, report: CallReport, number: str, state: str,
              now: datetime) -> tuple[PhoneCall, bool]:
        """The call's row, under its lock; logged now if this is the first the desk hears of it."""
        call = self._find(s, report)
        created = call is None
        if call is None:
            call = PhoneCall(source=report.source, call_id=report.call_id, direction=report.direction,
                             number=number, line=report.line[:40], state=state, started_at=now)
            s.add(call)
        call.number = call.number or number
        call.language = report.language or call.language
        call.area = report.area or call.area
        call.queue = (report.queue or "")[:80] or call.queue
        s.flush()
        return call, created

    @staticmethod
    def _agent(s: Session, who: str | None) -> Agent | None:
        """One of our agents, as the PBX names who answered: by email, or by id."""
        who = (who or "").strip()
        if "@" in who:
            agent = s.execute(select(Agent).where(Agent.email == who.lower())).scalar_one_or_none()
        elif who.isdecimal() and len(who) <= 18:
            agent = s.get(Agent, int(who))
        else:
            return None
        return agent if agent is not None and agent.active else None

    @staticmethod
    def _open_ticket(s: Session, contact_id: int | None) -> int | None:
        """The contact's latest open ticket, on any channel (the case the caller is most likely
        calling about)."""
        if contact_id is None:
            return None
        return s.execute(select(Ticket.id).where(Ticket.contact_id == contact_id, Ticket.status.in_(OPEN_STATUSES),
                                                 Ticket.merged_into_id.is_(None))
                         .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1)).scalar_one_or_none()

    def _contact_ticket(self, s: Session, call: PhoneCall, number: str,
                        customer: CustomerRef | None) -> Ticket | None:
        contact = find_contact(s, "phone", number, customer)
        if contact is None:
            return None
        call.contact_id = contact.id
        ticket_id = self._open_ticket(s, contact.id)
        return lock_ticket(s, ticket_id) if ticket_id is not None else None

    @staticmethod
    def _live_ticket(s: Session, ticket_id: int) -> Ticket:
        ticket = lock_ticket(s, ticket_id)
        for _ in range(10):  # a merged ticket lives on in the one it was merged into
            if ticket.merged_into_id is None:
                break
            ticket = lock_ticket(s, ticket.merged_into_id)
        return ticket

    def _case(self, s: Session, report: CallReport, number: str, customer: CustomerRef | None, now: datetime,
              step: str, details: list[str], *, attachments: list[dict[str, Any]] | None = None) -> Ticket:
        """The caller's phone case, with this step on it (a message from the caller's side): their open
        phone ticket or a new one, its priority raised and tags added as the step asks."""
        case = CASES[step]
        provider_id = _provider_id(report, step)
        posted = s.execute(select(Message).where(Message.channel == CHANNEL,
                                                 Message.provider_message_id == provider_id)).scalar_one_or_none()
        if posted is not None and posted.ticket_id is not None:
            ticket = self._live_ticket(s, posted.ticket_id)  # this step was filed before
        else:
            arrived = self.conversations.do_receive(
                s, channel=CHANNEL, identity_kind="phone", identity_value=number,
                body="\n".join([case.title, *details]), customer=customer, now=now, provider_message_id=provider_id,
                language=report.language, attachments=attachments, area=report.area, priority=case.priority,
                subject=case.subject, tags=case.tags)
            ticket = arrived.ticket
        raise_to = case.priority if PRIORITIES.index(case.priority) > PRIORITIES.index(ticket.priority) else None
        if not Status(ticket.status).final:
            self.changes.do_change(s, ticket, TicketChange(add_tags=case.tags, priority=raise_to),
                                   actor=Actor.system(), now=now, reason=f"phone call: {step}")
        call = self._find(s, report)
        if call is not None:
            call.contact_id = ticket.contact_id
        return ticket

    def _note(self, s: Session, ticket: Ticket, report: CallReport, step: str, now: datetime, title: str,
              details: list[str], *, attachments: list[dict[str, Any]] | None = None) -> None:
        """An internal note on the call's ticket, once per step."""
        provider_id = _provider_id(report, step)
        if s.execute(select(Message.id).where(Message.channel == CHANNEL,
                                              Message.provider_message_id == provider_id)).first() is not None:
            return
        conversation = conversation_of(s, ticket)
        if conversation is None:
            return
        self.posting.do_post(s, ticket, conversation, Author.system(), "\n".join([title, *details]), now=now,
                             internal=True, attachments=attachments or [], provider_message_id=provider_id)

    @staticmethod
    def _payload(call: PhoneCall) -> dict[str, Any]:
        """What agents are told of a call: no number in clear (the contact's 360 reveals it, audited)."""
        return {"call": call.id, "source": call.source, "direction": call.direction, "state": call.state,
                "number": mask_phone(call.number) if call.number else "withheld", "queue": call.queue,
                "area": call.area, "language": call.language, "contact_id": call.contact_id}

    def _announce(self, s: Session, kind: str, call: PhoneCall, ticket: Ticket | None, now: datetime,
                  **extra: Any) -> None:
        """To whoever may see the call's ticket (everyone when it has none)."""
        payload = {**self._payload(call), **extra}
        if ticket is not None:
            self.events.ticket_event(s, kind, ticket, now, **payload)
        else:
            self.events.emit(s, kind, at=now, **payload)
