"""The assistant over HTTP: Rasa-shaped parsing, and turns of conversation for channel
integrations and for the logged-in customer's in-app chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...assistant.engine import Answer
from ...container import Services
from ...desk.agents import AgentView
from ...desk.containment import containment
from ..deps import agent_with, current_customer, services

router = APIRouter(prefix="/api/v1", tags=["assistant"])


class ParseIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    lang: str | None = None


class TurnIn(BaseModel):
    channel: str
    identity_kind: str
    identity_value: str
    body: str = Field(min_length=1, max_length=4000)
    provider_message_id: str | None = None
    language: str | None = None
    thread: str | None = None
    name: str | None = None


class ChatIn(BaseModel):
    body: str = Field(min_length=1, max_length=4000)
    language: str | None = None


def answer_out(answer: Answer) -> dict[str, Any]:
    return {"conversation_id": answer.conversation_id, "ticket_id": answer.ticket_id, "replies": answer.replies,
            "intent": answer.intent, "handed_off": answer.handed_off}


@router.post("/assistant/parse")
def parse(body: ParseIn, _: AgentView = Depends(agent_with("channel.ingest")),
          svc: Services = Depends(services)) -> dict[str, Any]:
    """Intent, ranking, entities and language, in the shape of Rasa's /model/parse."""
    return svc.assistant.parse(body.text, body.lang).as_rasa()


@router.post("/assistant/messages")
def channel_turn(body: TurnIn, _: AgentView = Depends(agent_with("channel.ingest")),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    """A customer's message from a channel integration: stored on the desk, answered by the bot."""
    return answer_out(svc.assistant.chat(**body.model_dump()))


@router.post("/me/assistant")
def my_chat(body: ChatIn, customer_id: int = Depends(current_customer),
            svc: Services = Depends(services)) -> dict[str, Any]:
    """The in-app chat of a logged-in customer."""
    phone = svc.identity.get(customer_id).phone
    return answer_out(svc.assistant.chat(channel="chat", identity_kind="phone", identity_value=phone,
                                         body=body.body, language=body.language))


@router.get("/reports/containment")
def containment_report(since: datetime | None = Query(None), until: datetime | None = Query(None),
                       _: AgentView = Depends(agent_with("reports.view")),
                       svc: Services = Depends(services)) -> dict[str, Any]:
    """Conversations the assistant finished without a person (default: the last 7 days)."""
    until = _aware(until) or svc.clock.now()
    since = _aware(since) or until - timedelta(days=7)
    report = containment(svc.db, since, until)
    return {"since": report.since.isoformat(), "until": report.until.isoformat(), **report.total.as_dict(),
            "by_channel": {k: v.as_dict() for k, v in sorted(report.by_channel.items())},
            "by_area": {k: v.as_dict() for k, v in sorted(report.by_area.items())}}


def _aware(at: datetime | None) -> datetime | None:
    """A time given without a zone is read as UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
