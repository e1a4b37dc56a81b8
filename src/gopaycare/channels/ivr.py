"""The phone line's voice menu (IVR) as a state machine: states, keys and what the caller hears.

No HTTP, no database, no provider: each function takes where the call is (`Call`, which the
provider hands back with the caller's next key) and what is true of the line now (`Line`: the caller's
account, whether agents answer at this hour) and returns a `Step`: the sentences to say, one action
(wait for a key, record a message, put the caller in an agent queue, hang up) and, when the call
reached something the desk must act on, an `Outcome`. TwiML is one rendering of a step
(`twilio_voice.py`); another provider's would be another.

    start ─► LANGUAGE ──1/2/3──► MENU ──1..5──► open, a number to call back ──► OPTIONS ─1─► transfer
                │ (no key: the caller's own       │ (9: again;           │                    └─2─► callback
                │  language, else zh-CN)          │  no key: general)    ├─ open, number withheld ──► transfer
                                                  │                      ├─ closed ──► VOICEMAIL ─► voicemail
                                                  │                      └─ closed, withheld ──► goodbye
    QUEUED (in an agent queue) ── caller hung up, queue full, error ──► abandoned (a callback)

A locked or frozen account hears so first, in the language just chosen, before the menu. Nothing
is said about whose account it is, and no reason is given: caller ids can be forged. A wrong key
says so and asks again; after MAX_TRIES the call goes on with the default rather than dropping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ..platform.catalog import text
from ..platform.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..vocabulary import SERVICE_AREAS

LANGUAGE_KEYS = {"1": "zh-CN", "2": "en", "3": "id"}
AREA_KEYS = {"1": "account", "2": "transaction", "3": "refund_dispute", "4": "tech_support", "5": "promotion"}
REPEAT_KEY = "9"
AGENT_KEY = "1"
CALLBACK_KEY = "2"
MAX_TRIES = 3
FALLBACK_AREA = "general"  # a caller who picks no area still reaches a person
RECORD_SECONDS = 120
# Where the caller left the agent queue (Twilio's QueueResult): gone or turned away means a callback.
LEFT_UNSERVED = ("hangup", "queue-full", "error", "system-error")


class State(StrEnum):
    LANGUAGE = "language"  # greeting; waiting for 1, 2 or 3
    MENU = "menu"  # the five service areas
    OPTIONS = "options"  # an agent now, or a callback
    VOICEMAIL = "voicemail"  # recording a message; the next request is its end
    QUEUED = "queued"  # waiting for an agent; the next request is leaving the queue


class Standing(StrEnum):
    """What the caller's number says about them (looked up by the application)."""

    UNKNOWN = "unknown"  # no customer's number, or withheld
    CUSTOMER = "customer"
    LOCKED = "locked"  # too many wrong passwords
    FROZEN = "frozen"  # payments stopped (a stolen phone, suspected fraud)


@dataclass(frozen=True)
class Call:
    """Where a call is in the menu: all the IVR remembers between two requests."""

    state: State = State.LANGUAGE
    language: str | None = None
    area: str | None = None
    tries: int = 0

    def query(self) -> dict[str, str]:
        """As the provider hands it back (a signed URL's query): s, l, a, t."""
        found = {"s": self.state.value}
        if self.language:
            found["l"] = self.language
        if self.area:
            found["a"] = self.area
        if self.tries:
            found["t"] = str(self.tries)
        return found

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Call | None:
        """The call a query describes, or None when it describes none (start over)."""
        state, language, area, tries = (params.get(k) for k in ("s", "l", "a", "t"))
        if state not in State.__members__.values():
            return None
        if language is not None and language not in LANGUAGES:
            return None
        if area is not None and area not in SERVICE_AREAS:
            return None
        if tries is not None and not (tries.isdecimal() and len(tries) == 1 and int(tries) < MAX_TRIES):
            return None
        call = cls(State(state), language, area, int(tries) if tries else 0)
        needs_language = call.state is not State.LANGUAGE
        needs_area = call.state in (State.OPTIONS, State.VOICEMAIL, State.QUEUED)
        if (needs_language and call.language is None) or (needs_area and call.area is None):
            return None
        return call


@dataclass(frozen=True)
class Line:
    """What is true of this call now, as the application found it."""

    standing: Standing = Standing.UNKNOWN
    language: str | None = None  # the customer's own language: the default when no key is pressed
    reachable: bool = True  # a number we can call back (False when withheld)
    open: bool = True  # agents answer at this hour


@dataclass(frozen=True)
class Prompt:
    """One sentence from the catalogs (context "phone"), in one language."""

    key: str
    language: str
    digit: str | None = None
    area: str | None = None

    def sentence(self) -> str:
        values: dict[str, str] = {}
        if self.digit is not None:
            values["digit"] = self.digit
        if self.area is not None:
            values["label"] = text("area", self.area, self.language)
        return text("phone", self.key, self.language, **values)


@dataclass(frozen=True)
class Gather:
    """Wait for one key; the answer (or none) comes back with `then`."""

    then: Call


@dataclass(frozen=True)
class Record:
    """Record a message after a beep; its end comes back with `then`."""

    then: Call
    max_seconds: int = RECORD_SECONDS


@dataclass(frozen=True)
class Enqueue:
    """Put the caller in an agent queue; leaving it comes back with `then`."""

    queue: str
    then: Call


@dataclass(frozen=True)
class Hangup:
    pass


Action = Gather | Record | Enqueue | Hangup


@dataclass(frozen=True)
class Outcome:
    """What the desk is to do about the call: a case for an agent (transfer), a callback, a voicemail,
    or a caller who gave up waiting (abandoned: a callback, high priority)."""

    kind: str  # transfer | callback | voicemail | abandoned
    language: str
    area: str
    queue: str | None = None


@dataclass(frozen=True)
class Step:
    prompts: tuple[Prompt, ...]
    action: Action
    outcome: Outcome | None = None


def queue_name(area: str) -> str:
    return f"gopaycare-{area}"


# ---------------------------------------------------------------- the transitions


def start(line: Line) -> Step:
    """A new call: the greeting, each language offered in itself."""
    return _languages(0)


def press(call: Call, digits: str, line: Line) -> Step:
    """The caller pressed `digits` ('' when the wait ran out) while in `call`."""
    key = digits if isinstance(digits, str) and len(digits) == 1 else ""
    if call.state is State.LANGUAGE:
        if key in LANGUAGE_KEYS:
            return _menu(Call(State.MENU, LANGUAGE_KEYS[key]), line, first=True)
        if call.tries + 1 >= MAX_TRIES:
            return _menu(Call(State.MENU, line.language or DEFAULT_LANGUAGE), line, first=True)
        return _languages(call.tries + 1)
    language = call.language or DEFAULT_LANGUAGE
    if call.state is State.MENU:
        if key in AREA_KEYS:
            return _area_chosen(language, AREA_KEYS[key], line)
        if key == REPEAT_KEY:
            return _menu(replace(call, tries=0), line, first=False)
        if call.tries + 1 >= MAX_TRIES:
            return _area_chosen(language, FALLBACK_AREA, line)
        return _menu(replace(call, tries=call.tries + 1), line, first=False, invalid=True)
    if call.state is State.OPTIONS:
        area = call.area or FALLBACK_AREA
        if key == AGENT_KEY:
            return _transfer(language, area)
        if key == CALLBACK_KEY and line.reachable:
            return _callback(language, area)
        if call.tries + 1 >= MAX_TRIES:
            return _transfer(language, area)
        return _options(replace(call, tries=call.tries + 1), invalid=True)
    return _goodbye(language)  # no key is awaited in this state


def recorded(call: Call, line: Line) -> Step:
    """The voicemail ended (the caller pressed # or stopped talking, or left no message)."""
    language = call.language or DEFAULT_LANGUAGE
    if call.state is not State.VOICEMAIL:
        return _goodbye(language)
    return Step((Prompt("voicemail_thanks", language),), Hangup(),
                Outcome("voicemail", language, call.area or FALLBACK_AREA))


def left_queue(call: Call, result: str, line: Line) -> Step:
    """The caller left the agent queue: served (bridged to an agent), or not (hung up, turned away)."""
    language = call.language or DEFAULT_LANGUAGE
    if call.state is not State.QUEUED or result not in LEFT_UNSERVED:
        return Step((), Hangup())
    outcome = Outcome("abandoned", language, call.area or FALLBACK_AREA, queue_name(call.area or FALLBACK_AREA))
    if result == "hangup":
        return Step((), Hangup(), outcome)  # nobody is there to hear anything
    return Step((Prompt("queue_busy" if line.reachable else "busy_call_again", language),), Hangup(), outcome)


# ---------------------------------------------------------------- the steps


def _languages(tries: int) -> Step:
    prompts = tuple(Prompt("welcome", language, digit=key) for key, language in LANGUAGE_KEYS.items())
    return Step(prompts, Gather(Call(State.LANGUAGE, tries=tries)))


def _menu(call: Call, line: Line, *, first: bool, invalid: bool = False) -> Step:
    language = call.language or DEFAULT_LANGUAGE
    prompts: list[Prompt] = []
    if invalid:
        prompts.append(Prompt("invalid", language))
    if first and line.standing is Standing.FROZEN:
        prompts.append(Prompt("account_frozen", language))
    elif first and line.standing is Standing.LOCKED:
        prompts.append(Prompt("account_locked", language))
    prompts += [Prompt("menu_item", language, digit=key, area=area) for key, area in AREA_KEYS.items()]
    prompts.append(Prompt("menu_repeat", language, digit=REPEAT_KEY))
    return Step(tuple(prompts), Gather(call))


def _area_chosen(language: str, area: str, line: Line) -> Step:
    if line.open:
        if line.reachable:
            return _options(Call(State.OPTIONS, language, area), invalid=False)
        return _transfer(language, area)
    if line.reachable:
        return Step((Prompt("closed", language), Prompt("voicemail", language)),
                    Record(Call(State.VOICEMAIL, language, area)))
    return Step((Prompt("closed", language), Prompt("no_callback_number", language)), Hangup())


def _options(call: Call, *, invalid: bool) -> Step:
    language = call.language or DEFAULT_LANGUAGE
    prompts = (Prompt("invalid", language),) if invalid else ()
    return Step((*prompts, Prompt("options_agent", language, digit=AGENT_KEY),
                 Prompt("options_callback", language, digit=CALLBACK_KEY)), Gather(call))


def _transfer(language: str, area: str) -> Step:
    queue = queue_name(area)
    return Step((Prompt("transfer", language),), Enqueue(queue, Call(State.QUEUED, language, area)),
                Outcome("transfer", language, area, queue))


def _callback(language: str, area: str) -> Step:
    return Step((Prompt("callback_booked", language),), Hangup(), Outcome("callback", language, area))


def _goodbye(language: str) -> Step:
    return Step((Prompt("goodbye", language),), Hangup())
