"""The assistant over HTTP: Rasa-shaped parses, turns of conversation, the containment report."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ...assistant.engine import Answer
from ...assistant.nlu.types import Parse
from ...desk.containment import Containment, ContainmentReport
from .common import AttachmentIds, In, Language, Out, Timestamp, says_something


class ParseIn(In):
    text: str = Field(min_length=1, max_length=2000)
    lang: Language | None = None


class TurnIn(In):
    channel: str
    identity_kind: str
    identity_value: str
    body: str = Field(min_length=1, max_length=4000)
    provider_message_id: str | None = Field(default=None, max_length=200)
    language: Language | None = None
    thread: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=120)


class ChatIn(In):
    body: str = Field(default="", max_length=4000, description="may be empty when it carries attachments")
    language: Language | None = None
    attachments: AttachmentIds = []

    _said = model_validator(mode="after")(says_something)


class IntentOut(Out):
    name: str
    confidence: float


class EntityOut(Out):
    entity: str = Field(description="email, transaction_reference, order_id, phone, date or amount")
    value: Any
    text: str
    start: int
    end: int


class ParseOut(Out):
    """Rasa's /model/parse shape."""

    text: str
    intent: IntentOut
    intent_ranking: list[IntentOut]
    entities: list[EntityOut]
    lang: str

    @classmethod
    def of(cls, parse: Parse) -> ParseOut:
        return cls.model_validate(parse.as_rasa())


class AnswerOut(Out):
    conversation_id: int
    ticket_id: int
    replies: list[str]
    intent: str | None
    handed_off: bool

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        return cls(conversation_id=answer.conversation_id, ticket_id=answer.ticket_id, replies=answer.replies,
                   intent=answer.intent, handed_off=answer.handed_off)


class ContainmentOut(Out):
    contained: int
    handed_over: int
    abandoned: int
    active: int
    rate: float | None = Field(description="contained / ended, 4 decimals; null when none ended")

    @classmethod
    def of(cls, c: Containment) -> ContainmentOut:
        return cls.model_validate(c.as_dict())


class ContainmentReportOut(ContainmentOut):
    since: Timestamp
    until: Timestamp
    by_channel: dict[str, ContainmentOut]
    by_area: dict[str, ContainmentOut]

    @classmethod
    def of_report(cls, report: ContainmentReport) -> ContainmentReportOut:
        return cls(since=report.since, until=report.until, **report.total.as_dict(),
                   by_channel={k: ContainmentOut.of(v) for k, v in sorted(report.by_channel.items())},
                   by_area={k: ContainmentOut.of(v) for k, v in sorted(report.by_area.items())})
