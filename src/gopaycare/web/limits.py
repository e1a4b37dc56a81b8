"""Request bodies have a size limit by route class, enforced while the body streams in.

A declared Content-Length over the limit is answered 413 before a byte is read; a body without one
(chunked) is counted as it arrives and refused at the first chunk past the limit. So a 10 MB body sent
to the login route is never read whole, let alone parsed. The limits are far above what a real client
sends on each route (a login is under 1 kB, a knowledge-base article in three languages, JSON-escaped,
under 1 MB) and are listed in the README's Security section.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class BodyLimit:
    prefix: str  # a path prefix; the longest that matches wins
    max_bytes: int
    name: str  # the route class, in the error's details


def body_limits(*, attachment_bytes: int, webhook_bytes: int) -> list[BodyLimit]:
    """The limits by route class: small where nobody is known yet, what the route needs elsewhere."""
    return [
        BodyLimit("/", 256 * KIB, "default"),
        BodyLimit("/api/v1/auth/", 16 * KIB, "auth"),
        BodyLimit("/api/v1/agent/login", 16 * KIB, "auth"),
        BodyLimit("/api/v1/chat/visitors", 16 * KIB, "auth"),
        BodyLimit("/api/v1/me/assistant", 64 * KIB, "chat"),
        BodyLimit("/api/v1/me/conversations/", 64 * KIB, "chat"),
        BodyLimit("/api/v1/kb/articles/", 1 * MIB, "knowledge base"),
        # The file itself, and room for a multipart envelope around it.
        BodyLimit("/api/v1/me/attachments", attachment_bytes + 64 * KIB, "attachments"),
        BodyLimit("/account/chat/attachments", attachment_bytes + 64 * KIB, "attachments"),
        BodyLimit("/api/v1/cti/", webhook_bytes, "webhooks"),
        BodyLimit("/webhooks/", webhook_bytes, "webhooks"),
    ]


class BodyTooLarge(HTTPException):
    """Raised from `receive` into whatever reads the body. An HTTPException, because FastAPI turns any
    other exception met while reading a body into a 400 ("error parsing the body")."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(413, f"the request body is larger than {limit.max_bytes} bytes ({limit.name} routes)")
        self.limit = limit


    def details(self) -> dict[str, int | str]:
        return {"max_bytes": self.limit.max_bytes, "route_class": self.limit.name}


def refusal(limit: BodyLimit) -> JSONResponse:
    exc = BodyTooLarge(limit)
    answer = error_response(413, "payload_too_large", exc.detail, exc.details())
    answer.headers["connection"] = "close"  # the rest of the body is not read
    return answer


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: list[BodyLimit]) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda limit: len(limit.prefix), reverse=True)

    def limit_for(self, path: str) -> BodyLimit:
        return next(limit for limit in self.limits if path.startswith(limit.prefix))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        # (bytes: isdigit() is ASCII only there, so int() never fails on what it accepts)
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await refusal(limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
