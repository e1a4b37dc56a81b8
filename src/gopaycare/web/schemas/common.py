"""What every request body and every answer shares: bounded ids, timestamps, storable text."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Header
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, Strict, WithJsonSchema, field_validator

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


class In(BaseModel):
    """A request body. PostgreSQL refuses NUL characters in text, so no field may carry one."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
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


ERRORS: dict[int | str, dict[str, Any]] = {"4XX": {"model": ErrorOut, "description": "The request was refused"}}
