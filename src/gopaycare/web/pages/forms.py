"""Reading a page's form (application/x-www-form-urlencoded) with the API's input rules.

No multipart parser is needed for these forms; the body is bounded, NUL characters and
over-long fields are refused with a 4xx before any service is called.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from ...platform.errors import TooLarge, ValidationFailed

MAX_BODY = 64 * 1024
MAX_FIELD = 10_000


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise TooLarge("the form is too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and kind != "application/x-www-form-urlencoded":
        raise ValidationFailed("a form is expected", field="content-type")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("the form is not valid") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise ValidationFailed("NUL characters are not allowed", field=name.replace("\x00", ""))
        if len(value) > MAX_FIELD:
            raise ValidationFailed(f"{name} is too long", field=name)
        form[name] = value
    return form


def text_field(form: dict[str, str], name: str, *, required: bool = True, max_length: int = 5000) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(f"{name} is required", field=name)
    if len(value) > max_length:
        raise ValidationFailed(f"{name} is at most {max_length} characters", field=name)
    return value


def int_field(form: dict[str, str], name: str, *, required: bool = False) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        if required:
            raise ValidationFailed(f"{name} is required", field=name)
        return None
    if not value.isdecimal() or len(value) > 15:
        raise ValidationFailed(f"{name} must be a whole number", field=name)
    return int(value)
