"""Where the IMAP poller is in each mailbox: the mailbox's UIDVALIDITY and the last UID taken.

A UID only grows within one UIDVALIDITY; when the server gives the mailbox a new one (it was
rebuilt), the cursor starts over, and the mails read again are stored once (keyed by Message-ID)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.clock import Clock
from ..platform.db import Base, BigId, Database, UTCDateTime


class MailboxCursor(Base):
    __tablename__ = "email_mailboxes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300), nullable=False, unique=True)  # user@host:port/INBOX
    uid_validity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_uid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


@dataclass(frozen=True)
class Cursor:
    uid_validity: int
    last_uid: int


class MailboxCursors:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def get(self, mailbox: str) -> Cursor | None:
        with self.db.read() as s:
            row = s.execute(select(MailboxCursor).where(MailboxCursor.mailbox == mailbox)).scalar_one_or_none()
            return Cursor(row.uid_validity, row.last_uid) if row else None

    def advance(self, mailbox: str, uid_validity: int, last_uid: int) -> None:
        for _ in range(2):  # two pollers starting at once: the second updates the first one's row
            try:
                with self.db.transaction() as s:
                    row = s.execute(select(MailboxCursor).where(MailboxCursor.mailbox == mailbox)
                                    .with_for_update()).scalar_one_or_none()
                    if row is None:
                        row = MailboxCursor(mailbox=mailbox)
                        s.add(row)
                    elif row.uid_validity == uid_validity and row.last_uid >= last_uid:
                        return  # another poller went further
                    row.uid_validity, row.last_uid, row.polled_at = uid_validity, last_uid, self.clock.now()
                return
            except IntegrityError:
                continue
