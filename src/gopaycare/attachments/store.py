"""The one attachment store: every channel's files, the live chat's uploads and, later, a refund's
evidence are kept here.

`check` decides whether a file may be kept: not empty, at most `max_bytes`, of a type the bytes
themselves show (sniff.py) and the settings allow, and not contradicting the type or the file
extension the sender declared. A file that fails is `Refused`, with a reason: a channel records that
on the message (`refused_entry`), never drops it silently; an upload answers it as a 4xx.

A kept file is `StoredFile`; a message carries it as an entry of its `attachments` list (`entry`),
and `do_bind` ties files to the message in the message's own unit of work, once (a file is never on
two messages). Who may read a file is the caller's question (the desk's access rules: the ticket
its message is on, the customer whose conversation it is).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, NotFound, RateLimited, ValidationFailed
from . import sniff
from .blobs import Blobs, DatabaseBlobs
from .models import Attachment

DEFAULT_TYPES = tuple(sniff.TYPES)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    types: frozenset[str] = frozenset(DEFAULT_TYPES)
    max_per_message: int = 10
    max_unsent: int = 20  # a customer's uploads not on a message yet


class Refused(DomainError):
    """A file the store does not keep; `reason` is what the message's entry records."""

    code = "attachment_refused"
    http_status = 415
    STATUS = {"too_large": 413, "empty": 422, "too_many": 422}

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.http_status = self.STATUS.get(reason, 415)


@dataclass(frozen=True)
class StoredFile:
    id: int
    sha256: str
    size: int
    content_type: str
    kind: str
    name: str
    origin: str
    customer_id: int | None
    conversation_id: int | None
    message_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: Attachment) -> StoredFile:
        return cls(row.id, row.sha256, row.size, row.content_type, row.kind, row.name, row.origin, row.customer_id,
                   row.conversation_id, row.message_id, row.created_at)

    def entry(self) -> dict[str, Any]:
        """How a message lists it."""
        return {"state": "stored", "attachment_id": self.id, "kind": self.kind, "content_type": self.content_type,
                "name": self.name, "size": self.size, "sha256": self.sha256}


def refused_entry(refused: Refused, *, name: str | None, declared_type: str | None, size: int | None,
                  **extra: Any) -> dict[str, Any]:
    """How a message lists a file that was not kept (and why)."""
    return {**extra, "state": "refused", "reason": refused.reason, "name": (name or "")[:200] or None,
            "declared_type": (declared_type or "")[:100] or None, "size": size}


class AttachmentStore:
    def __init__(self, db: Database, clock: Clock, limits: Limits, blobs: Blobs | None = None) -> None:
        self.db = db
        self.clock = clock
        self.limits = limits
        self.blobs: Blobs = blobs or DatabaseBlobs()

    # ---------------------------------------------------------------- keeping a file

    def check(self, data: bytes, *, declared_type: str | None = None, name: str | None = None) -> tuple[str, str]:
        """The file's sniffed type and the name it is kept under; Refused when it may not be kept."""
        if not data:
            raise Refused("empty", "the file is empty")
        if len(data) > self.limits.max_bytes:
            raise Refused("too_large", f"the file is larger than {self.limits.max_bytes} bytes")
        content_type = sniff.sniff(data)
        if content_type is None or content_type not in self.limits.types:
            raise Refused("type_not_allowed", f"files of this type are not accepted ({content_type or 'unknown'})")
        if not sniff.same_family(declared_type, content_type) or \
                not sniff.same_family(sniff.type_of_name(name), content_type):
            raise Refused("type_mismatch", f"the file is {content_type}, not what its type or name says")
        return content_type, sniff.safe_name(name, content_type)

    def save(self, data: bytes, *, origin: str, declared_type: str | None = None, name: str | None = None,
             origin_key: str | None = None, customer_id: int | None = None, message_id: int | None = None,
             conversation_id: int | None = None) -> StoredFile:
        """Keep a file (Refused when it may not be); a file already kept under `origin_key` is that one."""
        content_type, safe = self.check(data, declared_type=declared_type, name=name)
        if origin_key and (found := self._by_key(origin, origin_key)) is not None:
            return found
        try:
            with self.db.transaction() as s:
                row = Attachment(sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type=content_type,
                                 kind=sniff.TYPES[content_type][0], name=safe, origin=origin[:12],
                                 origin_key=origin_key[:250] if origin_key else None, customer_id=customer_id,
                                 conversation_id=conversation_id, message_id=message_id, created_at=self.clock.now())
                s.add(row)
                s.flush()
                self.blobs.put(s, row.id, data)
                return StoredFile.of(row)
        except IntegrityError:
            if origin_key and (found := self._by_key(origin, origin_key)) is not None:
                return found  # the same file stored at the same moment by another worker
            raise

    def keep(self, data: bytes, *, origin: str, declared_type: str | None = None, name: str | None = None,
             origin_key: str | None = None, **extra: Any) -> dict[str, Any]:
        """A message's entry for a file a channel received: stored, or refused with its reason."""
        try:
            return {**extra, **self.save(data, origin=origin, declared_type=declared_type, name=name,
                                         origin_key=origin_key).entry()}
        except Refused as refused:
            return refused_entry(refused, name=name, declared_type=declared_type, size=len(data), **extra)

    def _by_key(self, origin: str, origin_key: str) -> StoredFile | None:
        with self.db.read() as s:
            row = s.execute(select(Attachment).where(Attachment.origin == origin,
                                                     Attachment.origin_key == origin_key[:250])).scalar_one_or_none()
            return StoredFile.of(row) if row is not None else None

    # ---------------------------------------------------------------- a customer's uploads

    def check_room(self, customer_id: int) -> None:
        """A customer keeps at most `max_unsent` uploads that no message carries yet."""
        with self.db.read() as s:
            unsent = s.scalar(select(func.count()).select_from(Attachment).where(
                Attachment.customer_id == customer_id, Attachment.message_id.is_(None)))
        if (unsent or 0) >= self.limits.max_unsent:
            raise RateLimited(f"at most {self.limits.max_unsent} files may wait to be sent; send or wait for them "
                              "to expire", code="too_many_unsent")

    def check_unsent(self, customer_id: int | None, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The entries of the customer's own uploads that no message carries yet, in the order given;
        an id that is not one of those answers as if it did not exist."""
        ids = list(dict.fromkeys(ids))
        if ids and customer_id is None:  # nobody's uploads: a visitor has none (and may not learn of others')
            raise NotFound("attachment not found (or already sent)", attachment_id=ids[0])
        if len(ids) > self.limits.max_per_message:
            raise ValidationFailed(f"a message carries at most {self.limits.max_per_message} attachments",
                                   field="attachments")
        if not ids:
            return []
        with self.db.read() as s:
            rows = {row.id: row for row in s.scalars(select(Attachment).where(
                Attachment.id.in_(ids), Attachment.customer_id == customer_id, Attachment.message_id.is_(None)))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound("attachment not found (or already sent)", attachment_id=missing[0])
        return [StoredFile.of(rows[i]).entry() for i in ids]

    # ---------------------------------------------------------------- on a message

    def do_bind(self, s: Session, attachment_ids: Sequence[int], *, origin: str, message_id: int,
                conversation_id: int) -> None:
        """The message carries these files (of its own channel), which no message carried before."""
        ids = list(dict.fromkeys(attachment_ids))
        if not ids:
            return
        bound = s.execute(update(Attachment).where(
            Attachment.id.in_(ids), Attachment.origin == origin, Attachment.message_id.is_(None))
            .values(message_id=message_id, conversation_id=conversation_id)).rowcount
        if bound != len(ids):
            raise Conflict("an attachment is already on another message", code="attachment_used")

    def get(self, attachment_id: int) -> StoredFile | None:
        with self.db.read() as s:
            row = s.get(Attachment, attachment_id)
            return StoredFile.of(row) if row is not None else None

    def content(self, attachment_id: int) -> bytes:
        with self.db.read() as s:
            data = self.blobs.get(s, attachment_id)
        if data is None:
            raise NotFound("attachment not found", attachment_id=attachment_id)
        return data

    def sweep_unsent(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Removes files no message took: uploads never sent, a mail's files whose mail was not stored."""
        cutoff = self.clock.now() - older_than
        with self.db.transaction() as s:
            ids = list(s.scalars(select(Attachment.id).where(Attachment.message_id.is_(None),
                                                             Attachment.created_at < cutoff).limit(1000)))
            self.blobs.delete(s, ids)
            if ids:
                s.execute(Attachment.__table__.delete().where(Attachment.id.in_(ids)))
        return len(ids)
