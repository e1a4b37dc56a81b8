"""The dialogue engine: one turn of a conversation, on every channel.

A customer's message arrives through the help desk (`Conversations.receive`); `Assistant.answer`
then understands it (NLU), keeps the conversation's memory (active flow, step, slots, what was
checked and tried), runs the flow against real account state, and posts the replies as the bot in
the same conversation. "算了" / "batal" / "cancel" drops the active flow; a confident new intent
switches topic; "转人工" / "agen" hands over to a person with a summary and the expected wait.
Containment is recorded on the conversation: True once the assistant resolved something without a
human, False as soon as a human is needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..desk.conversations import Received
from ..desk.models import Agent, Contact, Conversation, Message, Ticket, TicketLink
from ..platform import audit
from ..platform.audit import Actor
from ..platform.db import on_commit
from ..platform.i18n import normalize_language
from ..platform.pii import mask_text
from .models import AssistantSession
from .texts import say

if TYPE_CHECKING:
    from ..container import Services
    from .nlu import NLU, Parse

CANCEL = re.compile(r"^\s*(算了|不用了|取消|不要了|batal|gak jadi|ga jadi|nggak jadi|tidak jadi|cancel|never ?mind|"
                    r"forget it|stop)\s*[.!。！]*\s*$", re.IGNORECASE)
HANDOFF_INTENT = "human_handoff"
# Intents that never interrupt a flow waiting for an answer (a name or a reason can look like them).
SOFT_INTENTS = {"greeting", "thanks", "goodbye", "nlu_fallback", "oos", "out_of_scope"}
NOT_UNDERSTOOD = ("nlu_fallback", "oos", "out_of_scope")
SWITCH_CONFIDENCE = 0.75
INTENT_AREAS = {
    "account": "account", "transaction": "transaction", "refund_dispute": "refund_dispute",
    "tech_support": "tech_support", "promotion": "promotion", "general": "general",
}
MINUTES_PER_CASE = 4


@dataclass
class Turn:
    """What a flow sees of one message."""

    text: str
    parse: Parse
    lang: str
    state: dict[str, Any]
    conversation_id: int
    ticket_id: int
    customer_id: int | None
    now: datetime

    @property
    def slots(self) -> dict[str, Any]:
        return self.state.setdefault("slots", {})

    def entity(self, name: str) -> Any:
        return next((e.value for e in self.parse.entities if e.entity == name), None)

    def checked(self, note: str) -> None:
        self.state.setdefault("checked", []).append(note)

    def tried(self, note: str) -> None:
        self.state.setdefault("tried", []).append(note)


@dataclass
class Outcome:
    messages: list[str] = field(default_factory=list)
    done: bool = True  # the flow is finished (else it waits for the next message)
    handoff: bool = False
    resolved: bool = False  # the customer's problem was answered or fixed by the assistant

    @classmethod
    def reply(cls, *messages: str, done: bool = True, resolved: bool = False) -> Outcome:
        return cls(list(messages), done=done, resolved=resolved)

    @classmethod
    def wait(cls, *messages: str, resolved: bool = False) -> Outcome:
        """Wait for the customer's next message. `resolved`: the question is already answered (an
        explanation followed by an optional offer), so going quiet now still counts as contained."""
        return cls(list(messages), done=False, resolved=resolved)

    @classmethod
    def hand_over(cls, *messages: str) -> Outcome:
        return cls(list(messages), done=True, handoff=True)


@dataclass(frozen=True)
class Answer:
    conversation_id: int
    ticket_id: int
    replies: list[str]
    intent: str | None
    handed_off: bool


class Assistant:
    def __init__(self, services: Services, nlu: NLU) -> None:
        self.svc = services
        self.nlu = nlu
        from .flows import FLOWS  # flows import the engine's types

        self.flows = FLOWS

    # ---------------------------------------------------------------- entry points

    def chat(self, *, channel: str, identity_kind: str, identity_value: str, body: str,
             provider_message_id: str | None = None, language: str | None = None, thread: str | None = None,
             name: str | None = None) -> Answer:
        """A customer's message from any channel: stored on the desk, then answered."""
        lang = normalize_language(language) if language else self._detect(body, None)
        received = self.svc.desk.conversations.receive(
            channel=channel, identity_kind=identity_kind, identity_value=identity_value, body=body,
            provider_message_id=provider_message_id, thread=thread, name=name, language=lang)
        if received.duplicate:
            return Answer(received.conversation_id, received.ticket_id, [], None, False)
        return self.answer(received, body, language=language)

    def answer(self, received: Received, text: str, *, language: str | None = None) -> Answer:
        now = self.svc.clock.now()
        conversation_id, ticket_id = received.conversation_id, received.ticket_id
        session, customer_id = self._load(conversation_id)
        state: dict[str, Any] = dict(session.get("state") or {})
        lang = normalize_language(language) if language else self._detect(text, session.get("language"))
        if session.get("handed_off"):
            return Answer(conversation_id, ticket_id, [], None, True)
        parse = self.nlu.parse(text, lang)
        turn = Turn(text=text, parse=parse, lang=lang, state=state, conversation_id=conversation_id,
                    ticket_id=ticket_id, customer_id=customer_id, now=now)
        outcome, intent = self._decide(turn)
        if outcome.done:
            for key in ("flow", "step", "slots"):
                state.pop(key, None)
        if outcome.resolved or outcome.handoff:
            state.pop("fallbacks", None)
        handed_off = outcome.handoff or intent == HANDOFF_INTENT
        if handed_off:
            outcome.messages.append(say("handoff", lang, minutes=self._expected_wait()))
        self._save(turn, outcome, intent, handed_off)
        return Answer(conversation_id, ticket_id, outcome.messages, intent, handed_off)

    def parse(self, text: str, lang: str | None = None) -> Parse:
        return self.nlu.parse(text, lang)

    # ---------------------------------------------------------------- deciding what to do

    def _decide(self, turn: Turn) -> tuple[Outcome, str | None]:
        state, parse = turn.state, turn.parse
        active = state.get("flow")
        if CANCEL.match(turn.text):
            return Outcome.reply(say("cancelled", turn.lang)), None
        intent = parse.intent.name
        if active:
            flow = self.flows[active]
            # An answer to the pending step ("yes", a number, a code) belongs to the flow, whatever
            # the classifier makes of it out of context.
            if flow.accepts(self, turn):
                return flow.resume(self, turn), active
            if intent in NOT_UNDERSTOOD and active in [r.name for r in parse.intent_ranking[:3]]:
                intent = active  # an unsure reading that fits the conversation so far
            # Not an answer to the pending step: a confident other intent switches topic, and the same
            # intent asks its question again ("and my 150rb payment?" after "want an agent?").
            switching = intent == HANDOFF_INTENT or (intent not in SOFT_INTENTS and (
                intent == active or parse.intent.confidence >= SWITCH_CONFIDENCE))
            if not switching:
                return flow.resume(self, turn), active
        if intent == HANDOFF_INTENT:
            return Outcome.hand_over(), intent
        if active:
            for key in ("flow", "step", "slots"):
                state.pop(key, None)
        if intent in NOT_UNDERSTOOD or intent not in self.flows:
            return self._fallback(turn), intent
        state["intent_history"] = (state.get("intent_history", []) + [intent])[-10:]
        state["flow"] = intent
        return self.flows[intent].start(self, turn), intent

    def _fallback(self, turn: Turn) -> Outcome:
        turn.state["fallbacks"] = turn.state.get("fallbacks", 0) + 1
        ranking = [i for i in turn.parse.intent_ranking if i.name not in NOT_UNDERSTOOD]
        if turn.state["fallbacks"] >= 3:
            return Outcome.hand_over(say("fallback", turn.lang))
        if (turn.parse.intent.name == "nlu_fallback" and len(ranking) >= 2
                and ranking[0].confidence - ranking[1].confidence < 0.15 and ranking[1].confidence > 0.2):
            from .flows import intent_label

            return Outcome.reply(say("clarify", turn.lang, a=intent_label(ranking[0].name, turn.lang),
                                     b=intent_label(ranking[1].name, turn.lang)))
        hit = self.kb_answer(turn.text, turn.lang)
        return Outcome.reply(hit or say("fallback", turn.lang))

    def kb_answer(self, query: str, lang: str, intent: str | None = None) -> str | None:
        kb = getattr(self.svc, "kb", None)
        if kb is None:
            return None
        hits = kb.search(query, lang=lang, limit=1, intent=intent)
        if not hits:
            return None
        return say("fallback_article", lang, title=hits[0].title, snippet=hits[0].snippet)

    def cite(self, intent: str, lang: str) -> str | None:
        """The knowledge base article this answer comes from, for the reply's last line."""
        kb = getattr(self.svc, "kb", None)
        article = kb.by_intent(intent, lang) if kb is not None else None
        return say("cite", lang, title=article.title) if article else None

    def _detect(self, text: str, hint: str | None) -> str:
        try:
            from .nlu.language import detect
        except ImportError:  # pragma: no cover - the language module ships with the NLU
            return normalize_language(hint)
        return detect(text, hint)

    # ---------------------------------------------------------------- memory and posting

    def _load(self, conversation_id: int) -> tuple[dict[str, Any], int | None]:
        with self.svc.db.read() as s:
            row = s.get(AssistantSession, conversation_id)
            conversation = s.get(Conversation, conversation_id)
            contact = s.get(Contact, conversation.contact_id) if conversation else None
            session = {"state": row.state, "language": row.language, "handed_off": row.handed_off} if row else {}
            return session, (contact.customer_id if contact else None)

    def _expected_wait(self) -> int:
        with self.svc.db.read() as s:
            queued = s.execute(select(func.count()).select_from(Ticket).where(
                Ticket.assignee_id.is_(None), Ticket.status.in_(("new", "open")))).scalar_one()
            online = s.execute(select(func.count()).select_from(Agent).where(
                Agent.presence == "online", Agent.active.is_(True))).scalar_one()
        return max(1, math.ceil((queued + 1) / max(online, 1)) * MINUTES_PER_CASE) if online else 30

    def _save(self, turn: Turn, outcome: Outcome, intent: str | None, handed_off: bool) -> None:
        desk = self.svc.desk
        ctx = desk.ctx
        now = turn.now
        with self.svc.db.transaction() as s:
            session = s.get(AssistantSession, turn.conversation_id)
            if session is None:
                session = AssistantSession(conversation_id=turn.conversation_id, state={}, updated_at=now)
                s.add(session)
            session.state, session.language, session.updated_at = dict(turn.state), turn.lang, now
            conversation = s.get(Conversation, turn.conversation_id)
            ticket = s.execute(select(Ticket).where(Ticket.id == turn.ticket_id).with_for_update()).scalar_one()
            if intent in self.flows and ticket.area == "general":
                from .flows import INTENT_AREA

                ticket.area = INTENT_AREA.get(intent, "general")
            ticket.handled_by_bot = True
            self._apply_ticket_changes(s, ticket, turn.state.pop("ticket_changes", None), now)
            session.state = dict(turn.state)
            posted = []
            for text in outcome.messages:
                message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="out",
                                  author_type="bot", body=text, internal=False, attachments=[],
                                  channel=conversation.channel, delivery_status="pending", created_at=now)
                s.add(message)
                posted.append(message)
            s.flush()
            if posted:
                conversation.last_message_at = now
                if ticket.first_response_at is None:
                    ticket.first_response_at = now
                ctx.sla.on_agent_reply(s, ticket, now)
                for message in posted:
                    ctx.emit_message(s, ticket, message, now)
                    message_id = message.id
                    on_commit(s, lambda m=message_id: ctx.dispatch_outbound(m))
            if handed_off:
                session.handed_off = True
                conversation.handled_by, conversation.contained = "human", False
                self._hand_over(s, ticket, turn, intent, now)
            elif outcome.resolved and conversation.contained is None:
                conversation.contained = True
            ctx.search.index(s, ticket, now)

    def _apply_ticket_changes(self, s: Any, ticket: Ticket, changes: dict[str, Any] | None, now: datetime) -> None:
        """What a flow learned about the case (area, priority, tags, device, linked transaction)."""
        if not changes:
            return
        ctx = self.svc.desk.ctx
        done: dict[str, Any] = {}
        if changes.get("area") and changes["area"] != ticket.area:
            done["area"], ticket.area = [ticket.area, changes["area"]], changes["area"]
        if changes.get("priority") and changes["priority"] != ticket.priority:
            done["priority"], ticket.priority = [ticket.priority, changes["priority"]], changes["priority"]
            ctx.sla.on_priority_change(s, ticket, now)
        if changes.get("tags"):
            tags = sorted(set(ticket.tags or []) | set(changes["tags"]))
            if tags != sorted(ticket.tags or []):
                done["tags"], ticket.tags = [ticket.tags, tags], tags
        if changes.get("custom_fields"):
            ticket.custom_fields = {**(ticket.custom_fields or {}), **changes["custom_fields"]}
            done["custom_fields"] = sorted(changes["custom_fields"])
        for kind, reference in changes.get("links", []):
            if not s.execute(select(TicketLink.id).where(TicketLink.ticket_id == ticket.id, TicketLink.kind == kind,
                                                         TicketLink.reference == reference)).first():
                s.add(TicketLink(ticket_id=ticket.id, kind=kind, reference=reference, created_at=now))
                done.setdefault("links", []).append(reference)
        if done:
            ticket.updated_at = now
            audit.record(s, at=now, actor=Actor.system(), action="ticket.updated", subject_type="ticket",
                         subject_id=ticket.id, reason="assistant", changes=done)
            ctx.emit(s, "ticket.updated", ticket, now, changes=done)

    def _hand_over(self, s: Any, ticket: Ticket, turn: Turn, intent: str | None, now: datetime) -> None:
        """The agent gets the case with what the assistant learned: no one asks twice."""
        ctx = self.svc.desk.ctx
        history = turn.state.get("intent_history", [])
        entities = [f"{e.entity}={e.value}" for e in turn.parse.entities]
        summary = "\n".join(filter(None, [
            "🤖 Assistant summary / 机器人摘要 / Ringkasan asisten",
            f"intent: {', '.join(history) or intent or '-'}",
            f"language: {turn.lang}",
            f"checked: {'; '.join(turn.state.get('checked', [])) or '-'}",
            f"tried: {'; '.join(turn.state.get('tried', [])) or '-'}",
            f"entities: {', '.join(entities) or '-'}",
            f"last message: {mask_text(turn.text)[:300]}",
        ]))
        note = Message(conversation_id=turn.conversation_id, ticket_id=ticket.id, direction="out",
                       author_type="system", body=summary, internal=True, attachments=[], channel=ticket.channel,
                       delivery_status="internal", created_at=now)
        s.add(note)
        s.flush()
        ticket.handled_by_bot = False
        if ticket.status in ("solved", "pending_customer"):
            ctx.set_status(s, ticket, "open", now, actor=Actor.system(), reason="handed over by the assistant")
        # The customer now waits for a person: that clock starts now.
        ctx.sla.on_customer_message(s, ticket, now)
        audit.record(s, at=now, actor=Actor.system(), action="assistant.handed_over", subject_type="ticket",
                     subject_id=ticket.id, intent=intent, note_id=note.id)
        ctx.emit(s, "ticket.handed_over", ticket, now, intent=intent)
        if ticket.assignee_id is None:
            ctx.routing.route(s, ticket, now)
