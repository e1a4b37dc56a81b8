"""Domain errors with a stable machine-readable code and a human message.

The web layer maps each class to an HTTP status; services never know about HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class ValidationFailed(DomainError):
    code = "validation_failed"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class Unauthenticated(DomainError):
    code = "unauthenticated"
    http_status = 401


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


class IdempotencyConflict(Conflict):
    """The same idempotency key was used with different parameters."""

    code = "idempotency_key_reused"


class TooLarge(DomainError):
    code = "too_large"
    http_status = 413
