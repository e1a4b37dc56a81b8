"""Customer satisfaction: when a ticket is solved, the customer is asked for a 1-5 rating and a
comment on the conversation's own channel. Each ticket is asked once, even if it is reopened and
solved again (the survey row is unique per ticket).

A customer answers by replying "5", "4 bagus" or "3 还行" on the channel; the channel adapters
hand such a reply to `parse_reply`, which answers the open survey or returns None when the text
is not an answer (the adapter then treats it as an ordinary message).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import audit, catalog
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .domain_events import StatusChanged
from .events import EventLog
from .lifecycle import Status
from .models import Contact, CsatSurvey, Ticket
from .posting import Author, Posting, conversation_of

MAX_COMMENT = 2_000
# A bare "4" long after the question is more likely a new message than an answer.
REPLY_WINDOW = timedelta(days=7)

# "5", "5/5", "4 分", "3 bintang", "4 bagus", "3还行"; not "10", "4.5" or "2000 rupiah hilang".
_ANSWER = re.compile(r"\s*([1-5])(?![0-9]|[.,][0-9])\s*(?:/\s*5\b)?\s*(?:分|星|bintang\b|stars?\b)?(.*)",
                     re.DOTALL | re.IGNORECASE)
_SEPARATORS = " \t\r\n,.;:!?-–—、。"


def _comment(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed("the comment must be text", field="comment")
    comment = value.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"the comment is at most {MAX_COMMENT} characters", field="comment")
    return comment or None


def parse_answer(text: str) -> tuple[int, str | None] | None:
    """(rating, comment) when the text reads as a survey answer, else None."""
    match = _ANSWER.fullmatch(unicodedata.normalize("NFKC", text or ""))
    if match is None:
        return None
    comment = match.group(2).lstrip(_SEPARATORS).rstrip()
    return int(match.group(1)), comment[:MAX_COMMENT] or None


class Csat:
    def __init__(self, db: Database, clock: Clock, events: EventLog, posting: Posting) -> None:
        self.db = db
        self.clock = clock
        self.events = events
        self.posting = posting

    def on_status_change(self, s: Session, event: StatusChanged) -> None:
        """Ask once, on the first solve, inside the solving unit of work; the question leaves after
        commit through the outbox."""
        ticket, now = event.ticket, event.now
        if event.new != Status.SOLVED:
            return
        if s.execute(select(CsatSurvey.id).where(CsatSurvey.ticket_id == ticket.id)).first() is not None:
            return
        conversation = conversation_of(s, ticket)
        if conversation is None:
            return  # nowhere to ask (a ticket split off without its own conversation)
        survey = CsatSurvey(ticket_id=ticket.id, conversation_id=conversation.id, channel=conversation.channel,
                            asked_at=now)
        s.add(survey)
        question = catalog.text("desk.csat", "question", ticket.language, ticket_id=ticket.id)
        message = self.posting.do_post(s, ticket, conversation, Author.system(), question, now=now)
        audit.record(s, at=now, actor=Actor.system(), action="csat.asked", subject_type="ticket",
                     subject_id=ticket.id, survey_id=survey.id, message_id=message.id, channel=survey.channel)

    def answer(self, ticket_id: int, rating: int, comment: str | None = None) -> CsatSurvey:
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValidationFailed("the rating is a whole number from 1 to 5", field="rating")
        comment = _comment(comment)
        now = self.clock.now()
        with self.db.transaction() as s:
            survey = self._survey(s, ticket_id)
            if survey is None:
                raise NotFound("this ticket has no satisfaction survey", ticket_id=ticket_id)
            if survey.answered_at is not None:
                raise Conflict("the survey is already answered", code="csat_answered", ticket_id=ticket_id)
            return self._record(s, survey, rating, comment, now)

    def parse_reply(self, ticket_id: int, text: str) -> CsatSurvey | None:
        """Answer the ticket's open survey from a customer's reply; None when the text is no
        answer, or there is no open survey (none asked, already answered, or asked too long ago)."""
        parsed = parse_answer(text)
        if parsed is None:
            return None
        now = self.clock.now()
        with self.db.transaction() as s:
            survey = self._survey(s, ticket_id)
            if survey is None or survey.answered_at is not None or now - survey.asked_at > REPLY_WINDOW:
                return None
            return self._record(s, survey, parsed[0], parsed[1], now)

    def answer_in(self, s: Session, ticket: Ticket, text: str, now: datetime) -> bool:
        """Inside the caller's unit of work: if `text` answers this ticket's open survey, record
        it and return True (the customer rated; the ticket must not reopen)."""
        parsed = parse_answer(text)
        if parsed is None:
            return False
        survey = self._survey(s, ticket.id)
        if survey is None or survey.answered_at is not None or now - survey.asked_at > REPLY_WINDOW:
            return False
        self._record(s, survey, parsed[0], parsed[1], now)
        return True

    @staticmethod
    def _survey(s: Session, ticket_id: int) -> CsatSurvey | None:
        return s.execute(select(CsatSurvey).where(CsatSurvey.ticket_id == ticket_id).with_for_update()
                         ).scalar_one_or_none()

    def _record(self, s: Session, survey: CsatSurvey, rating: int, comment: str | None, now: datetime) -> CsatSurvey:
        survey.rating, survey.comment, survey.answered_at = rating, comment, now
        ticket = s.get(Ticket, survey.ticket_id)
        assert ticket is not None  # the survey's foreign key
        contact = s.get(Contact, ticket.contact_id)
        actor = Actor.customer(contact.customer_id) if contact and contact.customer_id else Actor.system()
        # The comment is the customer's free text and may hold personal data: not in the audit log.
        audit.record(s, at=now, actor=actor, action="csat.answered", subject_type="ticket", subject_id=ticket.id,
                     survey_id=survey.id, contact_id=ticket.contact_id, rating=rating, with_comment=comment is not None)
        self.events.ticket_event(s, "csat.answered", ticket, now, survey_id=survey.id, rating=rating,
                                 with_comment=comment is not None)
        s.flush()
        return survey
