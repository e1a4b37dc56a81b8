"""The frames of the customer's live chat socket (`/api/v1/me/chat/ws`), both ways."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .common import AttachmentIds, Id, In, Language, says_something

ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                                description="the app's own id for this message: a resend is stored once")]


class SayFrame(In):
    """The customer writes (acknowledged with {"type": "ack", "client_id", "conversation_id"})."""

    type: Literal["message"]
    client_id: ClientId
    body: str = Field(default="", max_length=4000, description="may be empty when it carries attachments")
    language: Language | None = None
    attachments: AttachmentIds = []

    _said = model_validator(mode="after")(says_something)


class ReadFrame(In):
    """The app has shown the conversation up to this sequence number."""

    type: Literal["read"]
    up_to: Id


class TypingFrame(In):
    """The customer is typing (passed on to the agents, at most one every ~2 s; nothing is stored)."""

    type: Literal["typing"]


Frame = SayFrame | ReadFrame | TypingFrame
# What the app may send, by its "type".
FRAMES: dict[str, type[Frame]] = {"message": SayFrame, "read": ReadFrame, "typing": TypingFrame}
