"""The NLU's result types, shaped like Rasa's /model/parse answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .entities import Entity

FALLBACK_INTENT = "nlu_fallback"
__all__ = ["FALLBACK_INTENT", "Entity", "Intent", "Parse"]


@dataclass(frozen=True)
class Intent:
    name: str
    confidence: float

    def as_rasa(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": float(self.confidence)}


@dataclass(frozen=True)
class Parse:
    text: str
    intent: Intent
    intent_ranking: list[Intent] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    lang: str = "en"

    @property
    def is_fallback(self) -> bool:
        return self.intent.name == FALLBACK_INTENT

    def as_rasa(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent.as_rasa(),
            "intent_ranking": [i.as_rasa() for i in self.intent_ranking],
            "entities": [e.as_rasa() for e in self.entities],
            "lang": self.lang,
        }
