"""Where an attachment's bytes live, behind the narrowest interface the store needs: put, get,
delete by the attachment's id, inside the caller's unit of work.

`DatabaseBlobs` keeps them in `attachment_contents`: every process of the deployment (several
machines on PostgreSQL, or the embedded SQLite) reads the same bytes, with no shared disk to mount
and one backup. An object store (S3) would implement the same three calls; its `put` is not undone
by a rollback, so it would write before the row commits and leave the sweep to remove what no row
names (docs/adr/0013-attachments.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .models import AttachmentContent


class Blobs(Protocol):
    def put(self, s: Session, attachment_id: int, data: bytes) -> None: ...
    def get(self, s: Session, attachment_id: int) -> bytes | None: ...
    def delete(self, s: Session, attachment_ids: Sequence[int]) -> None: ...


class DatabaseBlobs:
    def put(self, s: Session, attachment_id: int, data: bytes) -> None:
        s.add(AttachmentContent(attachment_id=attachment_id, data=data))

    def get(self, s: Session, attachment_id: int) -> bytes | None:
        row = s.get(AttachmentContent, attachment_id)
        return bytes(row.data) if row is not None else None

    def delete(self, s: Session, attachment_ids: Sequence[int]) -> None:
        if attachment_ids:
            s.execute(delete(AttachmentContent).where(AttachmentContent.attachment_id.in_(attachment_ids)))
