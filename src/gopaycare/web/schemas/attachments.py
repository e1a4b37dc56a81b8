"""Files on messages, as agents and customers read them: each with its id, kind, name, size and the
path to download it from (agents' and customers' are different routes, each with its own checks)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...attachments.store import StoredFile
from ...platform.pii import mask_text
from .common import Out

AGENT_PATH = "/api/v1/attachments/"
CUSTOMER_PATH = "/api/v1/me/attachments/"


class AttachmentOut(Out):
    id: int | None = Field(description="the stored file's id (None while pending, or when refused)")
    state: str = Field(description="stored | pending (a provider's media being fetched) | refused | failed")
    kind: str | None = Field(description="image | document | audio | video | text (sniffed from the bytes)")
    content_type: str | None
    name: str | None
    size: int | None
    url: str | None = Field(description="where to download it (stored files only)")
    reason: str | None = Field(description="why it was not kept: too_large, type_not_allowed, type_mismatch, "
                                           "empty, too_many")

    @classmethod
    def of_entry(cls, entry: dict[str, Any], path: str, *, mask: bool = False) -> AttachmentOut:
        file_id = entry.get("attachment_id") if entry.get("state") == "stored" else None
        name = entry.get("name") or entry.get("filename")
        return cls(id=file_id, state=str(entry["state"]), kind=entry.get("kind"),
                   content_type=entry.get("content_type"), name=mask_text(name) if mask and name else name,
                   size=entry.get("size"), url=f"{path}{file_id}" if file_id else None, reason=entry.get("reason"))

    @classmethod
    def of_file(cls, file: StoredFile, path: str) -> AttachmentOut:
        return cls.of_entry(file.entry(), path)


def files_of(entries: list[dict[str, Any]], path: str, *, mask: bool = False) -> list[AttachmentOut]:
    """The file entries of a message (an email's full text or a call's recording link are not files)."""
    return [AttachmentOut.of_entry(e, path, mask=mask) for e in entries if isinstance(e.get("state"), str)]
