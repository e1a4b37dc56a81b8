"""The desk's side of the attachment store: a message carries files, and who may read them.

A message's `attachments` list holds an entry per file, whose `state` is `stored` (with the file's
id), `refused` (with the reason it was not kept), `pending` (a provider's media still to fetch) or
`failed` (the fetch gave up). Posting a message (`do_attach`, on the one road) ties its stored files to it, once,
and queues a fetch for each pending entry after commit; the fetch job records what came of it
(`record`). Other entries (an email's full text, a call's recording link) are left as they are.

An agent reads a file when they may open the ticket its message is on (access.py); a customer when
the message is one they see in their own conversation, or the file is their own upload not sent
yet. Anything else answers 404, like a file that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..attachments.store import AttachmentStore, StoredFile
from ..platform.db import Database, on_commit
from ..platform.errors import NotFound
from .access import Viewer, access_ticket
from .models import Contact, Conversation, Message


def carries_files(entries: Sequence[dict[str, Any]] | None) -> bool:
    """A message with files may say nothing else (an email's full text or a call's link is no file)."""
    return any(isinstance(e.get("state"), str) for e in entries or ())


def stored_ids(entries: Sequence[dict[str, Any]]) -> list[int]:
    return [e["attachment_id"] for e in entries
            if e.get("state") == "stored" and isinstance(e.get("attachment_id"), int)]


class DeskAttachments:
    def __init__(self, db: Database, store: AttachmentStore) -> None:
        self.db = db
        self.store = store
        # Set by the application (tasks.py): queue the fetch of a message's pending media entry.
        self.fetch_later: Callable[[int, int], None] = lambda message_id, index: None

    def do_attach(self, s: Session, message: Message) -> None:
        """The message (flushed, in the caller's unit of work) carries its stored files; its pending
        media are fetched once it commits."""
        entries = message.attachments or []
        # Our own chat's uploads (the app's and the web widget's) all come in through one route.
        origin = "chat" if message.channel in ("chat", "web") else message.channel
        self.store.do_bind(s, stored_ids(entries), origin=origin, message_id=message.id,
                           conversation_id=message.conversation_id)
        for index, entry in enumerate(entries):
            if entry.get("state") == "pending":
                on_commit(s, lambda message_id=message.id, index=index: self.fetch_later(message_id, index))

    # ---------------------------------------------------------------- the fetch job

    def pending(self, message_id: int, index: int) -> tuple[str, dict[str, Any]] | None:
        """The channel and the entry of a media still to fetch (None: fetched already, or no such entry)."""
        with self.db.read() as s:
            message = s.get(Message, message_id)
            entries = message.attachments if message is not None else []
            if 0 <= index < len(entries) and entries[index].get("state") == "pending":
                return message.channel, dict(entries[index])  # type: ignore[union-attr]
        return None

    def record(self, message_id: int, index: int, entry: dict[str, Any]) -> None:
        """What became of a pending media: its entry now (stored, refused or failed)."""
        with self.db.transaction() as s:
            message = s.execute(select(Message).where(Message.id == message_id).with_for_update()).scalar_one()
            entries = [dict(e) for e in message.attachments]
            if entries[index].get("state") != "pending":
                return  # another run of the job recorded it first
            entries[index] = entry
            message.attachments = entries
            self.store.do_bind(s, stored_ids([entry]), origin=message.channel, message_id=message.id,
                               conversation_id=message.conversation_id)

    # ---------------------------------------------------------------- reading a file

    def for_agent(self, viewer: Viewer, attachment_id: int) -> tuple[StoredFile, bytes]:
        file = self.store.get(attachment_id)
        with self.db.read() as s:
            message = s.get(Message, file.message_id) if file and file.message_id else None
            if message is None or message.ticket_id is None:
                raise _not_found(attachment_id)
            try:
                access_ticket(s, viewer, message.ticket_id)
            except NotFound:
                raise _not_found(attachment_id) from None
        return file, self.store.content(attachment_id)  # type: ignore[union-attr]

    def for_customer(self, customer_id: int, attachment_id: int) -> tuple[StoredFile, bytes]:
        file = self.store.get(attachment_id)
        if file is None:
            raise _not_found(attachment_id)
        if file.message_id is None:
            if file.customer_id != customer_id:
                raise _not_found(attachment_id)
        else:
            with self.db.read() as s:
                theirs = s.execute(select(Message.id).join(Conversation, Conversation.id == Message.conversation_id)
                                   .join(Contact, Contact.id == Conversation.contact_id)
                                   .where(Message.id == file.message_id, Message.seq.is_not(None),
                                          Message.internal.is_(False), Contact.customer_id == customer_id)
                                   ).scalar_one_or_none()
            if theirs is None:
                raise _not_found(attachment_id)
        return file, self.store.content(attachment_id)


def _not_found(attachment_id: int) -> NotFound:
    return NotFound("attachment not found", attachment_id=attachment_id)
