"""What a provider's webhook call is answered (providers read only the status; operators the counts)."""

from __future__ import annotations

from pydantic import Field

from ...channels.intake import Accepted
from .common import Out


class WebhookOut(Out):
    stored: int = Field(description="events stored for the assistant and the desk")
    duplicates: int = Field(description="events the provider had sent before (stored once)")

    @classmethod
    def of(cls, accepted: Accepted) -> WebhookOut:
        return cls(stored=accepted.stored, duplicates=accepted.duplicates)
