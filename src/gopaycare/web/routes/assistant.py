"""The assistant over HTTP: Rasa-shaped parsing, and turns of conversation for channel
integrations and for the logged-in customer's in-app chat."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from ...desk.containment import containment
from ..deps import CanViewReports, ChatParty, Integration, Svc
from ..schemas.assistant import AnswerOut, ChatIn, ContainmentReportOut, ParseIn, ParseOut, TurnIn
from ..schemas.common import Moment

router = APIRouter(prefix="/api/v1", tags=["assistant"])


@router.post("/assistant/parse")
def parse(body: ParseIn, _: Integration, svc: Svc) -> ParseOut:
    """Intent, ranking, entities and language, in the shape of Rasa's /model/parse."""
    return ParseOut.of(svc.assistant.parse(body.text, body.lang))


@router.post("/assistant/messages")
def channel_turn(body: TurnIn, _: Integration, svc: Svc) -> AnswerOut:
    """A customer's message from a channel integration: stored on the desk, answered by the bot."""
    return AnswerOut.of(svc.assistant.chat(**body.model_dump()))


@router.post("/me/assistant")
def my_chat(body: ChatIn, party: ChatParty, svc: Svc) -> AnswerOut:
    """The in-app chat of a logged-in customer (or the web widget's, with a visitor token)."""
    return AnswerOut.of(svc.chat_turn(party, body.body, language=body.language, attachments=body.attachments))


@router.get("/reports/containment")
def containment_report(_: CanViewReports, svc: Svc, since: Moment | None = None,
                       until: Moment | None = None) -> ContainmentReportOut:
    """Conversations the assistant finished without a person (default: the last 7 days)."""
    until = until or svc.clock.now()
    since = since or until - timedelta(days=7)
    return ContainmentReportOut.of_report(containment(svc.db, since, until))

