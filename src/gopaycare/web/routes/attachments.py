"""Files: the customer's uploads for the live chat, and downloads for agents and customers.

`POST /api/v1/me/attachments` takes the file as the raw request body (its Content-Type and the
`name` query parameter are the customer's word: the store sniffs the bytes), read no further than
the size limit, and answers the id the chat's message then names. A download answers only to who may
see the file (404 otherwise, like a file that does not exist), with the sniffed type, never sniffed
again by the browser, shown inline only when it is an image, and under a CSP that lets nothing run.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...attachments.store import Refused, StoredFile
from ..deps import CustomerId, DeskViewer, Svc
from ..schemas.attachments import CUSTOMER_PATH, AttachmentOut
from ..schemas.common import Id

router = APIRouter(prefix="/api/v1", tags=["attachments"])

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}


@router.post("/me/attachments", status_code=201)
async def upload(request: Request, customer_id: CustomerId, svc: Svc,
                 name: Annotated[str | None, Query(max_length=200)] = None) -> AttachmentOut:
    """A file for the customer's next chat message (its id goes in the message's `attachments`)."""
    await run_in_threadpool(svc.files.check_room, customer_id)
    data = await _body(request, svc.files.limits.max_bytes)
    stored = await run_in_threadpool(lambda: svc.files.save(
        data, origin="chat", declared_type=request.headers.get("content-type"), name=name, customer_id=customer_id))
    return AttachmentOut.of_file(stored, CUSTOMER_PATH)


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it is larger than the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > max_bytes:
        raise Refused("too_large", f"the file is larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Refused("too_large", f"the file is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/attachments/{attachment_id}", response_class=Response)
def agent_download(attachment_id: Id, viewer: DeskViewer, svc: Svc) -> Response:
    """A file on a message of a ticket this agent may open."""
    return file_response(*svc.desk.attachments.for_agent(viewer, attachment_id))


@router.get("/me/attachments/{attachment_id}", response_class=Response)
def customer_download(attachment_id: Id, customer_id: CustomerId, svc: Svc) -> Response:
    """A file in one of the customer's own conversations, or their own upload."""
    return file_response(*svc.desk.attachments.for_customer(customer_id, attachment_id))


def file_response(file: StoredFile, data: bytes) -> Response:
    disposition = "inline" if file.kind == "image" else "attachment"
    fallback = file.name.encode("ascii", "replace").decode().replace("?", "_")
    media_type = f"{file.content_type}; charset=utf-8" if file.content_type == "text/plain" else file.content_type
    named = f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file.name)}"
    return Response(data, media_type=media_type, headers={**HEADERS, "Content-Disposition": named})
