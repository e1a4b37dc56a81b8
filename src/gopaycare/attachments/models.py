"""The attachment store's tables: what is known about each file, and its bytes apart (so a listing
never reads them, and an object store can take the bytes' place: blobs.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)  # sniffed, never the declared one
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # image | document | audio | video | text
    name: Mapped[str] = mapped_column(String(120), nullable=False)  # sanitized (sniff.safe_name)
    # Where it came from (a channel) and, for what a provider may send twice, its key there (an
    # email's Message-ID and part, a provider's media id): stored once.
    origin: Mapped[str] = mapped_column(String(12), nullable=False)
    origin_key: Mapped[str | None] = mapped_column(String(250))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # who uploaded it (live chat)
    # The message that carries it (None: an upload not sent yet, or a mail's file before its message).
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("origin", "origin_key"),
        Index("ix_attachments_message", "message_id"),
        Index("ix_attachments_customer_unsent", "customer_id", "created_at",
              postgresql_where=text("message_id IS NULL"), sqlite_where=text("message_id IS NULL")),
        Index("ix_attachments_unsent", "created_at",
              postgresql_where=text("message_id IS NULL"), sqlite_where=text("message_id IS NULL")),
    )


class AttachmentContent(Base):
    """The bytes of one attachment (DatabaseBlobs)."""

    __tablename__ = "attachment_contents"

    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
