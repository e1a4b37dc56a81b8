"""CSAT: a solved ticket asks the customer once, on the conversation's own channel, for a 1-5
rating and a comment; the answer comes from `answer` or from a reply such as "4 bagus"."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gopaycare.desk.csat import parse_answer
from gopaycare.desk.models import CsatSurvey
from gopaycare.platform import audit, catalog
from gopaycare.platform.audit import AuditEntry
from gopaycare.platform.errors import Conflict, NotFound, ValidationFailed
from tests.conftest import START

PHONE = "+6281234567890"


def receive(svc, body="Saldo saya hilang", *, language="id", channel="chat", kind="phone", value=PHONE):
    return svc.desk.conversations.receive(channel=channel, identity_kind=kind, identity_value=value, body=body,
                                          language=language)


def surveys(svc) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [{c.key: getattr(r, c.key) for c in CsatSurvey.__table__.columns}
                for r in s.scalars(select(CsatSurvey).order_by(CsatSurvey.id))]


def messages(svc, viewer, ticket_id) -> list[tuple[str, str, bool, str]]:
    return [(m.direction, m.author_type, m.internal, m.body)
            for m in svc.desk.conversations.messages(viewer, ticket_id)]


def history(svc, ticket_id: int, action: str) -> list[AuditEntry]:
    with svc.db.read() as s:
        return [e for e in audit.history(s, "ticket", ticket_id) if e.action == action]


def count(svc, model) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def events(svc, kind: str) -> list[dict[str, Any]]:
    return [{"ticket_id": e.ticket_id, **e.payload}
            for e in svc.desk.events.since(0, agent_id=None, team_ids=[], see_all=True) if e.kind == kind]


@pytest.fixture
def solved(svc, supervisor, clock) -> int:
    """A ticket solved an hour after it came in, its survey asked."""
    ticket_id = receive(svc).ticket_id
    clock.advance(hours=1)
    svc.desk.tickets.set_status(supervisor, ticket_id, "solved")
    return ticket_id


def everything(svc) -> tuple[Any, ...]:
    """All that a refused answer must leave as it was."""
    return surveys(svc), count(svc, AuditEntry), events(svc, "csat.answered")


# ---------------------------------------------------------------- asking


@pytest.mark.parametrize("language", ["zh-CN", "en", "id"])
def test_solving_asks_once_in_the_ticket_language(svc, supervisor, clock, dispatched, language):
    # Given a ticket in some language
    got = receive(svc, "Tolong", language=language)
    clock.advance(hours=1)

    # When an agent solves it
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")

    # Then a survey is opened on the chat and the question goes out, by the system, after commit
    asked_at = START + timedelta(hours=1)
    (survey,) = surveys(svc)
    assert {k: survey[k] for k in ("ticket_id", "conversation_id", "channel", "asked_at", "rating", "comment",
                                   "answered_at")} == {
        "ticket_id": got.ticket_id, "conversation_id": got.conversation_id, "channel": "chat",
        "asked_at": asked_at, "rating": None, "comment": None, "answered_at": None}
    question = catalog.text("desk.csat", "question", language, ticket_id=got.ticket_id)
    assert messages(svc, supervisor, got.ticket_id)[-1] == ("out", "system", False, question)
    sent = svc.desk.conversations.messages(supervisor, got.ticket_id)[-1]
    assert (sent.channel, sent.delivery_status) == ("chat", "sent")
    assert dispatched == [(sent.id, True)]
    (entry,) = history(svc, got.ticket_id, "csat.asked")
    assert (entry.actor_type, entry.details) == (
        "system", {"survey_id": survey["id"], "message_id": sent.id, "channel": "chat"})


def test_question_texts_ask_for_one_to_five_and_a_comment():
    assert catalog.text("desk.csat", "question", "zh-CN", ticket_id=7).startswith("您的工单 #7 已解决。")
    assert "1 (very unsatisfied) to 5 (very satisfied)" in catalog.text("desk.csat", "question", "en", ticket_id=7)
    assert "1 (sangat tidak puas) sampai 5 (sangat puas), boleh ditambah komentar" in catalog.text(
        "desk.csat", "question", "id", ticket_id=7)


def test_the_survey_goes_out_on_the_conversations_own_channel(svc, supervisor, dispatched):
    # Given a ticket that came in on WhatsApp
    got = receive(svc, "Saldo?", channel="whatsapp", kind="whatsapp")

    # When it is solved
    svc.desk.tickets.set_status(supervisor, got.ticket_id, "solved")

    # Then the survey and its question are on WhatsApp
    assert [s["channel"] for s in surveys(svc)] == ["whatsapp"]
    assert svc.desk.conversations.messages(supervisor, got.ticket_id)[-1].channel == "whatsapp"


def test_a_ticket_reopened_and_solved_again_is_not_asked_twice(svc, supervisor, solved, clock, dispatched):
    # Given a solved ticket that was asked; the customer writes again, which reopens it
    clock.advance(hours=2)
    receive(svc, "Masih belum masuk")
    assert svc.desk.tickets.get(supervisor, solved).status == "open"

    # When it is solved again
    svc.desk.tickets.set_status(supervisor, solved, "solved")

    # Then there is still one survey, asked the first time, and no second question
    assert [(s["ticket_id"], s["asked_at"]) for s in surveys(svc)] == [(solved, START + timedelta(hours=1))]
    assert [m[1] for m in messages(svc, supervisor, solved)] == ["contact", "system", "contact"]
    assert dispatched == []


def test_a_ticket_without_conversation_is_not_asked(svc, supervisor, dispatched):
    # Given a ticket split off another one: its conversation stayed with the original
    got = receive(svc, "Saldo hilang")
    second = receive(svc, "Juga refund belum masuk").message_id
    split = svc.desk.tickets.split(supervisor, got.ticket_id, [second]).id

    # When it is solved, Then there is nowhere to ask and nothing is sent
    svc.desk.tickets.set_status(supervisor, split, "solved")
    assert surveys(svc) == []
    assert dispatched == []


@pytest.mark.parametrize("status", ["pending_customer", "on_hold", "open"])
def test_other_statuses_do_not_ask(svc, supervisor, status):
    got = receive(svc)
    svc.desk.tickets.set_status(supervisor, got.ticket_id, status)
    assert surveys(svc) == []
    assert len(messages(svc, supervisor, got.ticket_id)) == 1


# ---------------------------------------------------------------- answering


def test_answer_records_rating_and_comment(svc, solved, clock):
    # Given an asked survey
    clock.advance(minutes=30)

    # When the customer rates it
    survey = svc.desk.csat.answer(solved, 5, "  Cepat sekali  ")

    # Then the rating, the comment and the time are kept, audited and evented (without the comment)
    answered_at = START + timedelta(hours=1, minutes=30)
    assert (survey.rating, survey.comment, survey.answered_at) == (5, "Cepat sekali", answered_at)
    assert [(s["rating"], s["comment"], s["answered_at"]) for s in surveys(svc)] == [(5, "Cepat sekali", answered_at)]
    (entry,) = history(svc, solved, "csat.answered")
    assert (entry.at, entry.details["rating"], entry.details["with_comment"], entry.details["survey_id"]) == (
        answered_at, 5, True, survey.id)
    assert "Cepat sekali" not in str(entry.details)
    assert events(svc, "csat.answered") == [
        {"ticket_id": solved, "survey_id": survey.id, "rating": 5, "with_comment": True}]


def test_answer_without_comment(svc, solved):
    survey = svc.desk.csat.answer(solved, 1)
    assert (survey.rating, survey.comment) == (1, None)


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_outside_one_to_five_is_refused_and_nothing_changes(svc, solved, rating):
    before = everything(svc)
    with pytest.raises(ValidationFailed):
        svc.desk.csat.answer(solved, rating, "ok")
    assert everything(svc) == before


def test_a_comment_too_long_is_refused(svc, solved):
    before = everything(svc)
    with pytest.raises(ValidationFailed):
        svc.desk.csat.answer(solved, 4, "x" * 2001)
    assert everything(svc) == before


def test_a_survey_is_answered_once(svc, solved):
    # Given an answered survey
    svc.desk.csat.answer(solved, 4, "bagus")
    before = everything(svc)

    # When it is answered again, Then it is refused and the first answer stays
    with pytest.raises(Conflict):
        svc.desk.csat.answer(solved, 1, "jelek")
    assert everything(svc) == before
    assert [(s["rating"], s["comment"]) for s in surveys(svc)] == [(4, "bagus")]


def test_a_ticket_without_a_survey_cannot_be_answered(svc):
    got = receive(svc)
    before = everything(svc)
    with pytest.raises(NotFound):
        svc.desk.csat.answer(got.ticket_id, 5)
    with pytest.raises(NotFound):
        svc.desk.csat.answer(999, 5)
    assert everything(svc) == before


def test_two_answers_at_once_record_one(svc, solved):
    # Given an open survey, When two answers arrive at the same moment
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int, rating: int) -> None:
        barrier.wait()
        try:
            results[i] = svc.desk.csat.answer(solved, rating)
        except Conflict as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate((2, 5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    # Then one is recorded and the other is refused
    winner = [r for r in results if isinstance(r, CsatSurvey)]
    assert len(winner) == 1 and sum(isinstance(r, Conflict) for r in results) == 1
    assert [s["rating"] for s in surveys(svc)] == [winner[0].rating]
    assert len(history(svc, solved, "csat.answered")) == 1


# ---------------------------------------------------------------- replies on the channel


@pytest.mark.parametrize(("text", "expected"), [
    ("5", (5, None)),
    ("4 bagus", (4, "bagus")),
    ("3 还行", (3, "还行")),
    ("3还行", (3, "还行")),
    ("５分，很好", (5, "很好")),
    ("5/5 mantap!", (5, "mantap!")),
    ("4 bintang, agak lama", (4, "agak lama")),
    ("  2 - slow reply ", (2, "slow reply")),
    ("1.", (1, None)),
    ("4\nterima kasih", (4, "terima kasih")),
    ("10", None),
    ("6", None),
    ("0 stars", None),
    ("4.5", None),
    ("2000 rupiah hilang", None),
    ("bagus 5", None),
    ("terima kasih", None),
    ("", None),
])
def test_reading_a_reply_as_an_answer(text, expected):
    assert parse_answer(text) == expected


def test_a_reply_answers_the_open_survey(svc, solved, clock):
    clock.advance(hours=3)

    survey = svc.desk.csat.parse_reply(solved, "4 bagus")

    assert survey is not None
    assert (survey.rating, survey.comment, survey.answered_at) == (4, "bagus", START + timedelta(hours=4))
    assert [(s["rating"], s["comment"]) for s in surveys(svc)] == [(4, "bagus")]
    assert len(history(svc, solved, "csat.answered")) == 1


def test_a_reply_that_is_no_answer_leaves_the_survey_open(svc, solved):
    before = everything(svc)
    assert svc.desk.csat.parse_reply(solved, "Refund saya belum masuk") is None
    assert everything(svc) == before


def test_a_reply_after_the_survey_was_answered_is_no_answer(svc, solved):
    svc.desk.csat.answer(solved, 5)
    before = everything(svc)
    assert svc.desk.csat.parse_reply(solved, "1 jelek") is None
    assert everything(svc) == before


def test_a_late_or_unasked_reply_is_no_answer(svc, solved, clock):
    # Given a survey asked more than a week ago, and a ticket never solved
    clock.advance(days=7, seconds=1)
    other = receive(svc, "Halo", value="+6281234567891").ticket_id
    before = everything(svc)

    # When either gets a "5", Then neither is answered
    assert svc.desk.csat.parse_reply(solved, "5") is None
    assert svc.desk.csat.parse_reply(other, "5") is None
    assert svc.desk.csat.parse_reply(999, "5") is None
    assert everything(svc) == before


def test_a_reply_within_the_week_still_counts(svc, solved, clock):
    clock.advance(days=7)
    survey = svc.desk.csat.parse_reply(solved, "3")
    assert survey is not None and survey.rating == 3
