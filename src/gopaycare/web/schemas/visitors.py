"""An anonymous web visitor's chat token."""

from __future__ import annotations

from pydantic import Field

from ...identity.visitors import VisitorToken
from .common import In, Out, Timestamp


class VisitorIn(In):
    token: str | None = Field(default=None, max_length=200, description="a visitor token to renew (same visitor)")


class VisitorOut(Out):
    token: str = Field(description="the chat's token for this visitor (gpv.…): as `token` on the chat socket, "
                                   "or a bearer token for the chat's HTTP calls")
    expires_at: Timestamp

    @classmethod
    def of(cls, t: VisitorToken) -> VisitorOut:
        return cls(token=t.token, expires_at=t.expires_at)
