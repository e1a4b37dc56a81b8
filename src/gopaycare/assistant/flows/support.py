"""App faults (walk the steps, then a technical ticket), contacts, greeting."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..texts import say
from ..turns import Outcome, Turn
from . import Flow, yes

if TYPE_CHECKING:
    from ..engine import Assistant

SOLVED = re.compile(r"(好了|解决了|可以了|行了|正常了|sudah bisa|udah bisa|berhasil|beres|works|fixed|solved|"
                    r"it's ok|its ok)", re.IGNORECASE)
STEPS = ("tech_step_os", "tech_step_cache", "tech_step_reinstall")



class AppFault(Flow):
    """Ask the device, then update OS → clear cache and storage → reinstall → technical ticket."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    def start(self, a: Assistant, t: Turn) -> Outcome:
        t.state["step"] = "device"
        return Outcome.wait(say("tech_ask_device", t.lang))

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        step = t.state.get("step")
        if step == "device":
            t.slots["device"] = t.text.strip()[:200]
            t.checked(f"device: {t.slots['device']}")
            t.state["step"] = STEPS[0]
            return Outcome.wait(say(STEPS[0], t.lang))
        if SOLVED.search(t.text) or (yes(t.text) and not re.search(r"(没|belum|not|masih|still)", t.text, re.I)):
            t.tried(f"{step} fixed it")
            return Outcome.reply(say("tech_solved", t.lang), resolved=True)
        t.tried(f"{step}: did not help")
        index = STEPS.index(step) if step in STEPS else len(STEPS) - 1
        if index + 1 < len(STEPS):
            t.state["step"] = STEPS[index + 1]
            return Outcome.wait(say(STEPS[index + 1], t.lang))
        t.state["ticket_changes"] = {"area": "tech_support", "tags": ["app_fault"],
                                     "custom_fields": {"device": t.slots.get("device", "")}}
        return Outcome.hand_over(say("tech_ticket", t.lang, ticket=t.ticket_id))

    def accepts(self, a: Assistant, t: Turn) -> bool:
        return t.state.get("step") is not None


class Answer(Flow):
    """An answer from the knowledge base article of this intent, cited."""

    def __init__(self, intent: str, key: str | None = None) -> None:
        self.intent, self.key = intent, key

    def start(self, a: Assistant, t: Turn) -> Outcome:
        parts = [say(self.key, t.lang)] if self.key else []
        if not parts:
            hit = a.kb_answer(t.text, t.lang, intent=self.intent)
            parts.append(hit or say("fallback", t.lang))
        if (cite := a.cite(self.intent, t.lang)) is not None and self.key:
            parts.append(cite)
        return Outcome.reply("\n".join(parts), resolved=True)


SUPPORT_FLOWS: tuple[Flow, ...] = (
    AppFault("tech_app_crash"), AppFault("tech_app_slow"), AppFault("tech_app_update"),
    Answer("contact_channels", "contact_channels"), Answer("greeting", "greeting"),
    Answer("thanks", "thanks"), Answer("goodbye", "goodbye"),
)
