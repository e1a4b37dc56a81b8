"""What every request body and every answer shares: bounded ids, timestamps, storable text."""

from __future__ import annotations

import types
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Interval
from fastapi import Header
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

# A BIGINT column holds up to 2**63 - 1: a larger number never reaches the database (SQLite raises
# OverflowError and PostgreSQL a type error, both a 500).
MAX_BIGINT = 2**63 - 1
Id = Annotated[int, Interval(ge=1, le=MAX_BIGINT)]
Cursor = Annotated[int, Interval(ge=0, le=MAX_BIGINT)]
Amount = Annotated[int, Interval(gt=0, le=MAX_BIGINT)]
BigInt = Annotated[int, Interval(ge=-MAX_BIGINT, le=MAX_BIGINT)]
SmallInt = Annotated[int, Interval(ge=-(2**31), le=2**31 - 1)]

# Money-moving calls carry one; a retry with the same key answers the first result.
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", max_length=128)]

# Text limits of the columns behind them (PostgreSQL refuses longer text with an error).
Login = Annotated[str, Field(max_length=254, description="phone number or email")]
Language = Annotated[str, Field(max_length=35, description="a language tag: zh-CN, en or id")]

# A message's uploads (POST /api/v1/me/attachments): the customer's own, not sent yet.
AttachmentIds = Annotated[list[Annotated[Id, Strict()]], Field(
    max_length=50, description="ids of the customer's own uploads (POST /api/v1/me/attachments), not sent yet")]


def says_something(message: Any) -> Any:
    """A message has words, or files, or both."""
    if not message.body.strip() and not message.attachments:
        raise ValueError("a message has a body, attachments, or both")
    return message


# Answers keep the format clients already read: datetime.isoformat() ("+00:00", not pydantic's "Z").
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


# A time a client gives: read as UTC when it names no zone, and between these bounds, so that
# converting it to UTC or adding the few days a query spans cannot leave the calendar (year 1..9999:
# Python raises OverflowError, the database a range error, both a 500).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_calendar(at: datetime) -> datetime:
    try:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar") from None
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"a time is from {EARLIEST.isoformat()} and before {LATEST.isoformat()}")
    return at


Moment = Annotated[datetime, AfterValidator(_in_calendar), WithJsonSchema({
    "type": "string", "format": "date-time",
    "description": "ISO 8601; UTC when no zone is given; from 1970-01-01 and before 9000-01-01"})]


MAX_DEPTH = 32


def text_problem(value: Any) -> str | None:
    """Why `value` may not be stored: a NUL in some string (keys of nested dicts too), or nesting
    deeper than MAX_DEPTH (deep JSON would exhaust the stack of whatever walks it next)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text may not contain NUL characters"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _integer(annotation: Any) -> bool:
    """Is this field's type an integer (`int`, `Annotated[int, ...]`, `int | None`)?"""
    if get_origin(annotation) is Annotated:
        return _integer(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        return len(kinds) == 1 and _integer(kinds[0])
    return annotation is int


@cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, f in model.model_fields.items() if _integer(f.annotation))


def _not_an_integer(value: Any) -> bool:
    # bool is an int in Python: `{"amount": true}` must not pay 1.
    return value is not None and (isinstance(value, bool) or not isinstance(value, int))


class In(BaseModel):
    """A request body. PostgreSQL refuses NUL characters in text, so no field may carry one; an integer
    field takes a JSON integer only (not `true`, `"100"` or `100.0`, which pydantic's lax mode would
    take: money and ids are never guessed from another type)."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        if info.field_name in _integer_fields(cls) and _not_an_integer(value):
            raise ValueError("an integer is expected (not a string, a boolean or a decimal)")
        return value


class Out(BaseModel):
    """An answer: exactly these fields, with the types given (no silent conversion)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(Out):
    code: str = Field(description="stable, machine-readable: not_found, validation_failed, ...")
    message: str
    details: dict[str, Any]


class ErrorOut(Out):
    """Every error answers in this shape."""

    error: ErrorBody
    request_id: str | None


# The refusals every API route may answer, each in the one error shape (errors.py), so a client
# generated from /openapi.json knows them: the code in `error.code` says which rule was met.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description} for status, description in (
        (401, "Not authenticated: no token, or one that is unknown, expired or revoked (unauthenticated)"),
        (403, "Authenticated, but not allowed to do this (permission_denied)"),
        (404, "Not found, or not yours to see: the two answer alike (not_found)"),
        (409, "In conflict with the current state: an idempotency key reused with another request, a "
              "cursor beyond the newest item, a change already made (conflict, idempotency_key_reused, "
              "cursor_ahead, ...)"),
        (413, "The request body is larger than this route class takes (payload_too_large; "
              "details.max_bytes)"),
        (422, "The request breaks the schema or a rule of the service (validation_failed, "
              "value_out_of_range, ...; details.problems names each field)"),
        (429, "Too many requests: try again later (rate_limited)"),
    )
}
