"""What one turn of a conversation is made of: what a flow sees of the customer's message (`Turn`),
what it decides (`Outcome`), and what the caller gets back (`Answer`). Flows and the engine both
import these; neither imports the other for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the NLU package loads its models' libraries: only its types are needed here
    from .nlu.types import Parse


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
    # Why the assistant fell back, if it did (desk/counters.py FALLBACKS): "unsure" (no confident
    # intent), "out_of_scope", "clarify" ("A or B?"), "error" (a flow failed). Counted per turn.
    fallback: str | None = None

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
