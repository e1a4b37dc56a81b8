"""The dialogue engine: one turn of a conversation, on every channel.

A customer's message arrives through the help desk (`Conversations.receive`); `Assistant.answer`
then understands it (NLU), keeps the conversation's memory (active flow, step, slots, what was
checked and tried), runs the flow against real account state, and posts the replies as the bot in
the same conversation. "算了" / "batal" / "cancel" drops the active flow; a confident new intent
switches topic; "转人工" / "agen" hands over to a person with a summary and the expected wait (or,
when no one can answer soon, when one will, and how the answer reaches a chat customer who left:
by e-mail, to their address or one they type next).
Containment is recorded on the conversation: True once the assistant resolved something without a
human, False as soon as a human is needed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..desk.changes import TicketChange
from ..desk.conversations import Received
from ..desk.customer_side import OWN_CHANNELS
from ..identity.contacts import normalize_email
from ..platform.errors import ValidationFailed
from ..platform.i18n import normalize_language
from ..platform.pii import email_in, mask_email
from . import dialogue, mentions, summary, topics, waiting
from .deps import AssistantDeps
from .flows import FLOWS, INTENT_AREA, intent_label
from .flows.money import transaction_line
from .models import AssistantSession
from .nlu.entities import Entity
from .texts import reset_time, say
from .turns import Answer, Outcome, Turn

if TYPE_CHECKING:
    from .nlu import NLU, Parse

HANDOFF_INTENT = dialogue.HANDOFF_INTENT
NOT_UNDERSTOOD = ("nlu_fallback", "oos", "out_of_scope")
EXPLAIN_ONE = "txn_payment_failed"  # the flow that explains one named transaction, whatever its status
log = logging.getLogger(__name__)


def drop_flow(state: dict[str, Any]) -> None:
    for key in ("flow", "step", "slots"):
        state.pop(key, None)


class Assistant:
    def __init__(self, deps: AssistantDeps, nlu: NLU) -> None:
        self.deps = deps
        self.nlu = nlu
        self.flows = FLOWS

    # ---------------------------------------------------------------- entry points

    def chat(self, *, channel: str, identity_kind: str, identity_value: str, body: str,
             provider_message_id: str | None = None, language: str | None = None, thread: str | None = None,
             name: str | None = None, attachments: list[dict[str, Any]] | None = None,
             subject: str | None = None, account_id: int | None = None, team_id: int | None = None) -> Answer:
        """A customer's message from any channel (on a channel account: `account_id`, feeding a team's
        queue: `team_id`): stored on the desk, then answered."""
        lang = self._detect(body, normalize_language(language) if language else None)
        received = self.deps.conversations.receive(
            channel=channel, identity_kind=identity_kind, identity_value=identity_value, body=body,
            provider_message_id=provider_message_id, thread=thread, name=name, language=lang,
            attachments=attachments, subject=subject, account_id=account_id, team_id=team_id)
        if received.duplicate or not body.strip():
            # Stored once; a file without a word (a photo, a voice note) waits for a person to open it.
            return Answer(received.conversation_id, received.ticket_id, [], None, False)
        return self.answer(received, body, language=language)

    def answer(self, received: Received, text: str, *, language: str | None = None) -> Answer:
        now = self.deps.clock.now()
        conversation_id, ticket_id = received.conversation_id, received.ticket_id
        session = self._load(conversation_id)
        customer_id = received.customer_id if received.customer_known else \
            self.deps.conversations.customer_of(conversation_id)
        state: dict[str, Any] = dict(session.get("state") or {})
        # What the customer writes decides the language; the conversation so far, then the app's
        # `language` field, only break a tie ("ok", "95000", a name).
        lang = self._detect(text, session.get("language") or (normalize_language(language) if language else None))
        lang = dialogue.answer_language(state, text, lang, session.get("language"))
        if session.get("handed_off"):
            next_step = waiting.after_handover(self.deps, state, ticket_id, now)
            if next_step != waiting.RESUME:
                return self._after_handoff(received, text, state, lang, ack=next_step == waiting.ACK)
            waiting.forget_handover(state)
        parse = topics.refine(self.nlu.parse(text, lang), text)
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
            outcome.messages.append(self._handoff_notice(turn))
        self._save(turn, outcome, intent, handed_off)
        return Answer(conversation_id, ticket_id, outcome.messages, intent, handed_off)

    def _handoff_notice(self, turn: Turn) -> str:
        """What a customer handed to a person is told: the expected wait; or, when no one can answer
        soon (outside business hours, nobody online), so, with when one will, that the case is kept
        as a ticket, and (on the chat, which they may leave) that the answer comes by e-mail too."""
        staffing, lang = self.deps.staffing(), turn.lang
        if not staffing.nobody:
            return say("handoff", lang, minutes=staffing.wait_minutes)
        if staffing.next_open is not None:
            notice = say("handoff_closed", lang, ticket=turn.ticket_id,
                         when=reset_time(staffing.next_open, lang, staffing.tz or self.deps.policy.tz))
        else:
            notice = say("handoff_nobody_online", lang, ticket=turn.ticket_id, minutes=staffing.wait_minutes)
        if self.deps.conversations.channel_of(turn.conversation_id) not in OWN_CHANNELS:
            return notice  # the answer reaches them where they wrote
        email = self.deps.conversations.email_of(turn.conversation_id)
        if email:
            turn.state["follow_up_email"] = email
            return f"{notice}\n{say('follow_up_to', lang, email=mask_email(email))}"
        turn.state["await_email"] = True
        return f"{notice}\n{say('follow_up_ask', lang)}"

    def _after_handoff(self, received: Received, text: str, state: dict[str, Any], lang: str, *,
                       ack: bool = False) -> Answer:
        """A person has the case: the assistant takes the e-mail address it asked for (when no one
        could answer at once), and, while no person has answered yet, tells the customer their case
        is waiting and for how long (`ack`, see waiting.py); otherwise it stays quiet."""
        conversation_id, ticket_id = received.conversation_id, received.ticket_id
        quiet = Answer(conversation_id, ticket_id, [], None, True)
        written = email_in(text) if state.get("await_email") else None
        email = None
        if written is not None:
            try:
                email = normalize_email(written)
            except ValidationFailed:
                email = None
        if email is not None:
            reply = say("follow_up_noted", lang, email=mask_email(email))
            state.pop("await_email", None)
        elif ack:
            reply = waiting.acknowledgement(self.deps, ticket_id, lang)
        else:
            return quiet
        bot, now = self.deps.bot, self.deps.clock.now()
        state["acked_at"] = now.isoformat()
        with self.deps.db.transaction() as s:
            session = s.get(AssistantSession, conversation_id)
            ticket, conversation = bot.lock(s, ticket_id, conversation_id)
            if session is not None:
                session.state, session.updated_at = dict(state), now
            if email is not None:
                bot.do_follow_up(conversation, email)
            bot.do_reply(s, ticket, conversation, [reply], now=now)
        return Answer(conversation_id, ticket_id, [reply], None, True)

    def parse(self, text: str, lang: str | None = None) -> Parse:
        return self.nlu.parse(text, lang)

    # ---------------------------------------------------------------- deciding what to do

    def _decide(self, turn: Turn) -> tuple[Outcome, str | None]:
        """The turn read by the dialogue layer (cancel / handoff / new intent / answer / clarify), then
        acted on. A failure anywhere in a flow becomes a reply, and the flow is dropped: the next
        message starts clean instead of meeting the same error."""
        try:
            return self._act(turn)
        except Exception:  # noqa: BLE001 - no customer message may end in an error
            log.exception("assistant: a flow failed", extra={"conversation_id": turn.conversation_id,
                                                             "flow": turn.state.get("flow"),
                                                             "step": turn.state.get("step")})
            drop_flow(turn.state)
            turn.state.pop("ticket_changes", None)
            return replace(Outcome.reply(say("flow_failed", turn.lang)), fallback="error"), None

    def _act(self, turn: Turn) -> tuple[Outcome, str | None]:
        state = turn.state
        active = state.get("flow")
        self._context_entities(turn)
        move = dialogue.read(self, turn)
        if move.kind == dialogue.CANCEL:
            drop_flow(state)
            return Outcome.reply(say("cancelled", turn.lang)), None
        if move.kind == dialogue.HANDOFF:
            keep = (state.get("slots") or {}).get("on_handoff")  # what the pending offer noted about the case
            drop_flow(state)
            if keep:
                state["ticket_changes"] = keep
            return Outcome.hand_over(), HANDOFF_INTENT
        if move.kind == dialogue.ANSWER:
            if state.get("step") == "which_txn":
                return self._picked_transaction(turn), active
            return self.flows[active].resume(self, turn), active
        if move.kind == dialogue.CLARIFY:
            return Outcome.wait(say(f"slot_{dialogue.SLOT_KINDS.get(state.get('step'), 'again')}", turn.lang)), active
        if move.parse is not None and move.parse is not turn.parse:
            turn.parse = dialogue.with_entities(move.parse, list(turn.parse.entities))
        intent = move.intent
        if intent in NOT_UNDERSTOOD and active and active in [r.name for r in turn.parse.intent_ranking[:3]]:
            intent = active  # an unsure reading that fits the conversation so far
        drop_flow(state)
        if intent == HANDOFF_INTENT:
            return Outcome.hand_over(), intent
        if intent in NOT_UNDERSTOOD and self._names_one_transaction(turn):
            intent = EXPLAIN_ONE  # unsure what is asked, sure which payment: explain that payment
        if intent in NOT_UNDERSTOOD or intent not in self.flows:
            return self._fallback(turn), intent
        state["intent_history"] = (state.get("intent_history", []) + [intent])[-10:]
        state["flow"] = intent
        mention = mentions.mentioned(self, turn, EXPLAIN_ONE if intent == "txn_history" else intent)
        if intent == "txn_history" and mention is not None and mention.specific and mention.matches:
            # "what happened to my 150000 payment to Bukaloka": that payment explained, not a list
            intent = state["flow"] = EXPLAIN_ONE
        asked = self._which_transaction(turn, intent, mention)
        if asked is not None:
            return asked, intent
        return self.flows[intent].start(self, turn), intent

    def _names_one_transaction(self, turn: Turn) -> bool:
        """An unsure reading whose best guesses are about money, of a message that names exactly one of
        the customer's transactions by reference, amount or merchant."""
        top = next((r.name for r in turn.parse.intent_ranking if r.name not in NOT_UNDERSTOOD), None)
        if turn.customer_id is None or (top not in mentions.KINDS and top != "txn_history"):
            return False
        mention = mentions.mentioned(self, turn, EXPLAIN_ONE)
        return mention is not None and mention.specific and len(mention.matches) == 1

    def _context_entities(self, turn: Turn) -> None:
        """Bare numbers are amounts where the conversation is about money: an amount slot, a choice of
        payments, a money flow, or a payment question ("95000" alone says nothing)."""
        if turn.entity("amount") is not None:
            return
        kind = dialogue.SLOT_KINDS.get(turn.state.get("step"))
        money_talk = kind in dialogue.MONEY_SLOTS or turn.state.get("flow") in mentions.KINDS \
            or turn.parse.intent.name in mentions.KINDS
        if not money_talk:
            return
        from .nlu.entities import extract

        found = [e for e in extract(turn.text, turn.lang, now=turn.now, tz=self.deps.policy.tz.key, money=True)
                 if e.entity == "amount"]
        if found:
            turn.parse = dialogue.with_entities(turn.parse, found[:1])

    def _which_transaction(self, turn: Turn, intent: str, mention: mentions.Mention | None) -> Outcome | None:
        """When the message names a transaction (reference, amount, merchant, date), the flow explains
        THAT one; several that fit get a clarifying question, none the recent ones to choose from."""
        if mention is None or intent not in mentions.KINDS:
            return None
        if len(mention.matches) == 1:
            self._settle(turn, mention.matches[0].reference)
            return None
        options = mention.matches
        key = "txn_which"
        if not options:
            key, options = "txn_no_match", mention.recent
            if not options:
                return None
        turn.state["step"] = "which_txn"
        turn.slots["txn_options"] = [x.reference for x in options]
        lines = "\n".join(transaction_line(self, turn, x, i) for i, x in enumerate(options, 1))
        return Outcome.wait(say(key, turn.lang, named=mention.named, lines=lines))

    def _picked_transaction(self, turn: Turn) -> Outcome:
        options = turn.slots.get("txn_options", [])
        history = self.deps.wallet.list_transactions(turn.customer_id, limit=mentions.HISTORY)
        reference = mentions.chosen(turn, options, history)
        if reference is None:
            return Outcome.wait(say("pick_again", turn.lang, n=len(options)))
        turn.state["step"] = None
        turn.slots.pop("txn_options", None)
        self._settle(turn, reference)
        return self.flows[turn.state["flow"]].start(self, turn)

    @staticmethod
    def _settle(turn: Turn, reference: str) -> None:
        turn.checked(f"the customer means {reference}")
        turn.parse = dialogue.with_entities(
            turn.parse, [Entity("transaction_reference", reference, reference, 0, 0)])

    def _fallback(self, turn: Turn) -> Outcome:
        outcome = self._fall_back(turn)
        if outcome.fallback is None:
            outcome.fallback = "unsure"
        return outcome

    def _fall_back(self, turn: Turn) -> Outcome:
        if turn.parse.intent.name in ("oos", "out_of_scope"):
            # Not the wallet's business (a loan, the weather): a polite no and what the assistant does.
            key = "out_of_scope_loan" if topics.loan(turn.text) else "out_of_scope"
            return replace(Outcome.reply(say(key, turn.lang)), fallback="out_of_scope")
        turn.state["fallbacks"] = turn.state.get("fallbacks", 0) + 1
        ranking = [i for i in turn.parse.intent_ranking if i.name not in NOT_UNDERSTOOD]
        if turn.state["fallbacks"] >= 3:
            return Outcome.hand_over(say("fallback", turn.lang))
        if (turn.parse.intent.name == "nlu_fallback" and len(ranking) >= 2
                and ranking[0].confidence - ranking[1].confidence < 0.15 and ranking[1].confidence > 0.2):
            return replace(Outcome.reply(say("clarify", turn.lang, a=intent_label(ranking[0].name, turn.lang),
                                             b=intent_label(ranking[1].name, turn.lang))), fallback="clarify")
        hit = self.kb_answer(turn.text, turn.lang)
        return Outcome.reply(hit or say("fallback", turn.lang))

    def kb_answer(self, query: str, lang: str, intent: str | None = None) -> str | None:
        kb = self.deps.kb
        if kb is None:
            return None
        hits = kb.search(query, lang=lang, limit=1, intent=intent)
        if not hits:
            return None
        return say("fallback_article", lang, title=hits[0].title, snippet=hits[0].snippet)

    def cite(self, intent: str, lang: str) -> str | None:
        """The knowledge base article this answer comes from, for the reply's last line."""
        kb = self.deps.kb
        article = kb.by_intent(intent, lang) if kb is not None else None
        return say("cite", lang, title=article.title) if article else None

    def _detect(self, text: str, hint: str | None) -> str:
        try:
            from .nlu.language import detect
        except ImportError:  # pragma: no cover - the language module ships with the NLU
            return normalize_language(hint)
        return detect(text, hint)

    # ---------------------------------------------------------------- memory and posting

    def _load(self, conversation_id: int) -> dict[str, Any]:
        with self.deps.db.read() as s:
            row = s.get(AssistantSession, conversation_id)
            return {"state": row.state, "language": row.language, "handed_off": row.handed_off} if row else {}

    def _save(self, turn: Turn, outcome: Outcome, intent: str | None, handed_off: bool) -> None:
        """The turn, stored whole in one unit of work: the assistant's memory, what it learned about
        the case, its replies, and the handover."""
        bot, now = self.deps.bot, turn.now
        # Read before the unit of work opens (it reads the ticket's messages and the account).
        summary = self._summary(turn, intent, outcome) if handed_off else ""
        if handed_off:
            turn.state.update(handed_over_ticket=turn.ticket_id, handed_over_at=now.isoformat())
        with self.deps.db.transaction() as s:
            session = s.get(AssistantSession, turn.conversation_id)
            if session is None:
                session = AssistantSession(conversation_id=turn.conversation_id, state={}, updated_at=now)
                s.add(session)
            ticket, conversation = bot.lock(s, turn.ticket_id, turn.conversation_id)
            learned = _learned(turn.state.pop("ticket_changes", None) or {})
            if intent in self.flows and ticket.area == "general" and learned.area is None:
                learned = replace(learned, area=INTENT_AREA.get(intent, "general"))
            if learned != TicketChange():
                bot.do_learn(s, ticket, learned, now=now)
            follow_up = turn.state.pop("follow_up_email", None)
            if follow_up:
                bot.do_follow_up(conversation, follow_up)
            session.state, session.language, session.updated_at = dict(turn.state), turn.lang, now
            bot.do_reply(s, ticket, conversation, outcome.messages, now=now)
            session.handed_off = handed_off
            bot.do_count_turn(s, conversation, intent=intent if intent in self.flows or intent == HANDOFF_INTENT
                              else None, fallback=outcome.fallback, now=now)
            if handed_off:
                bot.do_hand_over(s, ticket, conversation, summary, intent=intent, now=now)
            elif outcome.resolved:
                bot.do_mark_contained(conversation)

    def _summary(self, turn: Turn, intent: str | None, outcome: Outcome) -> str:
        """What the agent reads first on a handed-over case (summary.py): no one asks the customer twice."""
        replies = outcome.messages[:-1] if outcome.messages else []  # the last one is the handover notice
        return summary.build(self.deps, turn, intent, replies, fallbacks=turn.state.get("fallbacks", 0))


def _learned(changes: dict[str, Any]) -> TicketChange:
    """What a flow noted about the case (its `ticket_changes`), as a change of the ticket."""
    return TicketChange(area=changes.get("area"), priority=changes.get("priority"),
                        add_tags=tuple(changes.get("tags") or ()), custom_fields=changes.get("custom_fields") or None,
                        links=tuple(tuple(link) for link in changes.get("links") or ()))
