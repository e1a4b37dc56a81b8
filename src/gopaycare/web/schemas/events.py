"""The agents' event stream, over plain HTTP (the WebSocket sends the same EventOut objects)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...desk.events import EventView
from ...platform.pii import mask_value
from .common import Out, Timestamp


class EventOut(Out):
    id: int = Field(description="ids only go up: resume with after=<the last id seen>")
    at: Timestamp
    kind: str
    ticket_id: int | None
    agent_id: int | None
    team_id: int | None
    payload: dict[str, Any]
    ephemeral: bool = Field(default=False, description="a signal (someone typing) with no id (0): never "
                                                        "replayed, and not a cursor to resume from")

    @classmethod
    def of(cls, e: EventView) -> EventOut:
        # Masked again on the way out: rows stored before masking at emit are customer text too.
        return cls(id=e.id, at=e.at, kind=e.kind, ticket_id=e.ticket_id, agent_id=e.agent_id, team_id=e.team_id,
                   payload=mask_value(e.payload), ephemeral=e.ephemeral)


class EventPage(Out):
    items: list[EventOut]
    last_id: int = Field(description="the cursor to resume from")
    more: bool = Field(description="true when this page is full: ask again from last_id")
