"""The dialogue layer: what one customer message IS, given what the conversation waits for.

Every turn is read in one order of precedence (docs/adr/0020-dialogue-layer.md):

1. cancel      "算了不退了", "gak jadi deh", "never mind": the pending step is dropped, nothing is sent;
2. handoff     "just get me a human", "转人工", "mau ngomong sama cs": a person, whatever was pending;
3. new intent  a confident other request ("yes, and I forgot my PIN, reset it", "wait, first check my
               transfer limit") switches topic, unless the message is nothing but an answer to the
               pending step ("yes", "123456", "iPhone 13");
4. answer      a value the pending slot accepts (validated against what the slot expects: a phone
               number, a code, an amount, a name without digits, a phone model...);
5. clarify     anything else while a step waits: the step's question again.

The slot a step expects is its `kind` (SLOT_KINDS); a step this module does not know (a flow added
later) is validated by its flow's own `accepts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..identity.contacts import normalize_phone
from ..platform.errors import ValidationFailed
from .flows import NO, YES, code_in, yes_or_no

if TYPE_CHECKING:
    from .engine import Assistant
    from .nlu import Parse
    from .turns import Turn

CANCEL, HANDOFF, SWITCH, ANSWER, CLARIFY, START = "cancel", "handoff", "switch", "answer", "clarify", "start"
HANDOFF_INTENT = "human_handoff"
# Intents that never interrupt a pending step on their own (a name or a reason can look like them).
SOFT_INTENTS = frozenset({"greeting", "thanks", "goodbye", "nlu_fallback", "oos", "out_of_scope"})
SWITCH_CONFIDENCE = 0.75
CUED_SWITCH_CONFIDENCE = 0.5  # "wait, first ..." announces a new request: a weaker reading will do

# What each step of the flows expects.
SLOT_KINDS = {
    "identify_phone": "phone", "identify_code": "code", "stepup_code": "code", "change_codes": "code",
    "offer_agent": "yes_no", "offer_reset": "yes_no", "offer_resend": "yes_no", "offer_unlock": "yes_no",
    "offer_dispute": "yes_no", "offer_freeze": "yes_no",
    "device": "device", "tech_step_os": "outcome", "tech_step_cache": "outcome", "tech_step_reinstall": "outcome",
    "verify_name": "name", "verify_last4": "last4", "verify_amount": "amount", "pick": "choice",
    "which_txn": "choice", "reason": "text", "details": "text", "ask_new": "contact", "light_check": "name_last4",
}
MONEY_SLOTS = frozenset({"amount", "choice"})

_CANCEL = re.compile(
    r"算了|不用了|取消|不要了|不退了|不办了|不弄了|不需要了|先不用|别发了?|不改了|不查了|"
    r"(?<![a-z])(?:batal(?:in|kan)?|(?:gak|ga|gk|nggak|ngga|enggak|engga|tidak|tdk|g)\s?jadi|gajadi|"
    r"(?:gak|ga|gk|nggak|ngga|enggak|tidak|tdk)\s+usah|cancel(?:led)?|never\s?mind|nvm|forget\s+(?:it|about\s+it)|"
    r"no\s+need|don'?t\s+bother|scratch\s+that|changed\s+my\s+mind|stop)(?![a-z])", re.IGNORECASE)
# What may stand around a cancellation without making it a new request.
_FILLER = re.compile(
    r"(?<![a-z])(?:deh|dong|aja|ajah|saja|ya|yah|yaa|kak|min|gan|sis|nya|udah|sudah|dulu|kok|sih|lah|"
    r"ok|oke|okay|ah|oh|hmm|please|pls|thanks|thank\s+you|thx|actually|just|then|it|that|the|i|i'?ll|"
    r"refund|reset|code|kode|request|one|this|no|not|now|pin|password|sandi|ganti|nomor|number|"
    r"change|send|kirim)(?![a-z])|吧|了|啦|呀|吗|谢谢|好|的|我|先|还是|退款|退|验证码|改|发|啊|哦|嗯",
    re.IGNORECASE)
_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|接人工|真人|找客服|转客服|人工|"
    r"(?<![a-z])(?:(?:talk|speak|chat|connect|transfer|get|give|want|need|put|let)\b.{0,25}?"
    r"\b(?:human|agent|real\s+person|live\s+person|a\s+person|someone\s+real|representative|operator|cs)"
    r"|(?:bicara|ngomong|ngobrol|hubungkan|sambungkan|minta|mau|pengen|pingin|pgn|tolong)\b.{0,25}?"
    r"\b(?:orang\s+(?:asli|beneran)|manusia|agen|agent|cs|operator|petugas|admin)"
    r"|^\s*(?:human|agent|operator|representative|agen|cs|live\s+agent)s?\s*(?:please|pls|dong|aja)?\s*[.!]*\s*$)"
    r"(?![a-z])", re.IGNORECASE)
# "wait", "first", "actually", "by the way": the customer is about to ask something else.
_CUE = re.compile(r"^\s*(?:wait|hold\s+on|first|before\s+that|actually|btw|by\s+the\s+way|oh\s+and|also|"
                  r"tunggu|bentar|sebentar|eh|oh\s+ya|btw|tapi|sebelum\s+itu|等等|等一下|先|对了|另外|还有|顺便)",
                  re.IGNORECASE)
_TAIL = re.compile(r"^\s*[,.!，。、;]*\s*(?:and|but|also|then|dan|tapi|terus|trus|sama|juga|而且|还有|另外|但是|然后)?"
                   r"\s*[,，]?\s*", re.IGNORECASE)
_DEVICE = re.compile(r"(?<![a-z])(?:iphone|ipad|ios|android|samsung|galaxy|xiaomi|redmi|poco|oppo|vivo|realme|"
                     r"huawei|honor|infinix|tecno|itel|nokia|pixel|oneplus|asus|sony|motorola|moto|lenovo|"
                     r"hp\s+\w+)(?![a-z])|苹果|华为|小米|安卓|三星|红米", re.IGNORECASE)
_FREEZE_WORDS = re.compile(r"冻结|冻|(?<![a-z])(?:freeze|froze|frozen|bekukan|dibekukan|beku|it|now|sekarang|aja|"
                           r"saja|do|that)(?![a-z])|吧|马上|现在|立即", re.IGNORECASE)
_LAST4 = re.compile(r"(?<!\d)\d{4}(?!\d)")
# What stands around a code given as an answer.
_CODE_WORDS = re.compile(r"验证码|校验码|动态码|短信码|代码|号码|是|为|码|我的|这是|"
                         r"(?<![a-z])(?:kode(?:nya)?|otp|code|sms|my|the|is|it'?s|here|ini|itu|nih|ya|"
                         r"verification|verifikasi)(?![a-z])", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9']+|[\u3400-\u9fff]", re.IGNORECASE)


@dataclass(frozen=True)
class Move:
    """What the turn is: `kind` (CANCEL ... START), the intent to act on, and the parse to act on (for
    "yes, and ...", the request after the yes)."""

    kind: str
    intent: str | None = None
    parse: Parse | None = None


def read(a: Assistant, t: Turn) -> Move:
    """The turn's meaning, in the order of precedence above."""
    text, parse, state = t.text, t.parse, t.state
    active, step = state.get("flow"), state.get("step")
    if is_cancel(text):
        return Move(CANCEL)
    pending = bool(active and step)
    kind = SLOT_KINDS.get(step) if pending else None
    valid = pending and slot_accepts(a, t, kind)
    only_an_answer = valid and _only_an_answer(t, kind)
    # The classifier may read a bare "yes please" as a request for a person; said to "shall I resend
    # the code?" it is the answer. Asking for a person in words always is a handoff.
    if _HUMAN.search(text) or (parse.intent.name == HANDOFF_INTENT and not only_an_answer):
        return Move(HANDOFF, HANDOFF_INTENT)
    if only_an_answer:
        return Move(ANSWER, active)
    new = _new_request(a, t, active, valid)
    if new is not None:
        return Move(SWITCH if active else START, new.intent.name, new)
    if valid:
        return Move(ANSWER, active)
    if pending:
        if kind in ("name", "device", "yes_no_strict"):
            return Move(CLARIFY, active)
        return Move(ANSWER, active)  # the flow asks its question again (a code, a phone, a choice...)
    return Move(START, parse.intent.name, parse)


# Slots whose answer says nothing about the customer's language: a name (李娜 in an English chat), digits,
# a phone model.
_LANGUAGE_BLIND = frozenset({"name", "last4", "amount", "code", "phone", "choice", "contact", "name_last4",
                             "device"})


def answer_language(state: dict[str, Any], text: str, detected: str, previous: str | None) -> str:
    """The language to answer in: an answer to a name or number slot keeps the conversation's language
    (a Chinese name typed in an English chat is not a switch to Chinese)."""
    kind = SLOT_KINDS.get(state.get("step")) if state.get("flow") else None
    if previous and kind in _LANGUAGE_BLIND and detected != previous and _tokens(text) <= 6 \
            and not _HUMAN.search(text) and not is_cancel(text):
        return previous
    return detected


def is_cancel(text: str) -> bool:
    """A cancellation, and nothing more: "算了不退了", "gak jadi deh", "never mind, thanks" (not
    "cancel my payment to Bukaloka", which is a request)."""
    if not _CANCEL.search(text):
        return False
    rest = _FILLER.sub(" ", _CANCEL.sub(" ", text))
    return len(_WORD.findall(rest)) == 0


def wants_human(text: str, parse: Parse) -> bool:
    return parse.intent.name == HANDOFF_INTENT or bool(_HUMAN.search(text))


def _tokens(text: str) -> int:
    return len(_WORD.findall(text))


def slot_accepts(a: Assistant, t: Turn, kind: str | None) -> bool:
    """Whether the message carries what the pending slot expects."""
    text = t.text
    if kind == "phone":
        return t.entity("phone") is not None or _phone(text)
    if kind == "code":
        return code_in(text) is not None
    if kind == "yes_no":
        return yes_or_no(text)
    if kind == "last4":
        return bool(_LAST4.search(text))
    if kind == "amount":
        return t.entity("amount") is not None
    if kind == "name":
        return not re.search(r"\d", text) and 0 < _tokens(text) <= 8 and not _HUMAN.search(text)
    if kind == "name_last4":
        return bool(_LAST4.search(text)) and bool(re.search(r"[^\d\s,.\-]", text))
    if kind == "contact":
        return t.entity("email") is not None or t.entity("phone") is not None or "@" in text or _phone(text)
    if kind in ("device", "outcome", "text"):
        return bool(text.strip())
    flow = a.flows.get(t.state.get("flow") or "")
    return bool(flow is not None and flow.accepts(a, t))  # "pick", "which_txn" and steps added later


def _only_an_answer(t: Turn, kind: str | None) -> bool:
    """The message is just the slot's value (maybe with a please or a thanks): nothing else in it can
    be a new request."""
    text = t.text
    if _CUE.search(text):
        return False
    if kind == "yes_no":
        rest = _TAIL.sub("", (YES.sub("", text, count=1) if YES.search(text) else NO.sub("", text, count=1)))
        if t.state.get("step") == "offer_freeze":  # "好的，冻结吧", "iya bekukan": the offer's own words
            rest = _FREEZE_WORDS.sub(" ", rest)
        return _tokens(rest) <= 2
    if kind == "device":
        return bool(_DEVICE.search(text)) and _tokens(text) <= 8
    if kind == "code":  # "验证码是 123456", "kodenya 123456", "the code is 123456"
        return _tokens(_CODE_WORDS.sub(" ", text)) <= 2
    if kind in ("last4", "amount", "phone", "choice"):
        return _tokens(text) <= 4
    if kind == "text":
        return True  # a reason or a description is free text: only a cancel or a person interrupts it
    return _tokens(text) <= 3


def _new_request(a: Assistant, t: Turn, active: str | None, valid: bool) -> Parse | None:
    """A confident request other than the pending step's answer: read on the whole message, and on what
    follows a leading yes/no ("yes, and I forgot my PIN" asks for a PIN reset)."""
    readings = [t.parse]
    if YES.search(t.text) or NO.search(t.text):
        match = YES.search(t.text) or NO.search(t.text)
        tail = _TAIL.sub("", t.text[match.end():]) if match else ""
        if _tokens(tail) >= 3:
            readings.append(a.nlu.parse(tail, t.lang))
    threshold = CUED_SWITCH_CONFIDENCE if _CUE.search(t.text) else SWITCH_CONFIDENCE
    best: Parse | None = None
    for parse in readings:
        intent = parse.intent
        if intent.name in SOFT_INTENTS or intent.name not in a.flows or intent.confidence < threshold:
            continue
        if intent.name == active and valid:
            continue  # the same topic, and a valid answer: it is the answer
        if best is None or intent.confidence > best.intent.confidence:
            best = parse
    if best is None and not active:
        return None
    if best is not None and active and _same_topic(best.intent.name, active) and valid:
        return None  # "still crashing" while the app-fault steps run is an answer, not a new topic
    if best is not None and best.intent.name in _SAME_CASE.get((active, t.state.get("step")), ()):
        return None  # "my phone was stolen, no code comes" to the code of a security alert: its flow's case
    return best


def _same_topic(intent: str, active: str) -> bool:
    return intent.split("_")[0] == active.split("_")[0] == "tech"


# Readings that, at this step of this flow, are the customer saying they cannot answer it: the flow
# handles that (a security alert without the code goes to a person), it is not a new request.
_SAME_CASE = {("account_security_alert", "identify_code"): frozenset({"account_security_alert",
                                                                     "account_otp_not_received"})}


def _phone(text: str) -> bool:
    try:
        normalize_phone(text.strip())
    except ValidationFailed:
        return False
    return True


def with_entities(parse: Parse, extra: list[Any]) -> Parse:
    """The parse with entities the context adds (a bare amount in an amount slot, a merchant from the
    customer's own history, the transaction a clarifying question settled)."""
    from dataclasses import replace

    kept = [e for e in parse.entities if all(e.entity != x.entity for x in extra)]
    return replace(parse, entities=[*kept, *extra])
