"""The NLU's result types, shaped like Rasa's /model/parse answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Entity:
    entity: str
    value: Any
    text: str
    start: int
    end: int

    def as_rasa(self) -> dict[str, Any]:
        return {"entity": self.entity, "value": self.value, "text": self.text, "start": self.start, "end": self.end}


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


def coerce_entity(item: Any) -> Entity:
    """An entity from the entities module, whatever shape it returns (Entity, dataclass, dict, tuple)."""
    if isinstance(item, Entity):
        return item
    if isinstance(item, dict):
        data = item
    elif hasattr(item, "__dataclass_fields__"):
        data = asdict(item)
    elif isinstance(item, tuple | list) and len(item) == 5:
        data = dict(zip(("entity", "value", "text", "start", "end"), item, strict=True))
    else:
        data = {k: getattr(item, k) for k in ("entity", "value", "text", "start", "end")}
    return Entity(entity=str(data["entity"]), value=data.get("value"), text=str(data.get("text", "")),
                  start=int(data.get("start", 0)), end=int(data.get("end", 0)))
