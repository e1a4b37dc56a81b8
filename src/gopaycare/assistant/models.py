"""Per-conversation memory of the assistant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, UTCDateTime


class AssistantSession(Base):
    """The dialogue state of one conversation: the active flow, its step and slots, what was
    checked and tried (handed to the agent on handoff)."""

    __tablename__ = "assistant_sessions"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh-CN")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    handed_off: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
