"""A company PBX reporting its calls: Zammad's Generic CTI, so a PBX already set up for it works.

The PBX posts `newCall`, `answer` and `hangup` events to `POST /api/v1/cti/{token}`, the token in the
path being the only credential (compared in constant time; a wrong one is 403, and with
GOPAYCARE_CTI_TOKEN unset the endpoint is 404). Bodies are form-encoded (urlencoded or multipart, as
Zammad's examples post them) or JSON, with Zammad's fields:

    event            newCall | answer | hangup
    from, to         the numbers ("anonymous" when withheld)
    direction        in (a customer calls) | out (an agent calls)
    callId           the PBX's id of the call, the same in its three events (up to 250 characters)
    user / user[]    the agents' names whose phones ring, or who call
    queue            the PBX's queue (optional)
    answeringNumber  who answered (answer, hangup; optional): an agent's email or id here
    cause            why it ended (hangup): normalClearing, busy, cancel, noAnswer, congestion,
                     notFound, forwarded

Each event becomes one `CallEvent` (ringing, answered, ended), stored once by call id and step (a PBX
that retries stores nothing new) and handed to the desk after commit. Reading is defensive like every
webhook's: a field of the wrong type counts as missing, NUL is dropped, lengths are bounded.
"""

from __future__ import annotations

import hmac
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ..platform.errors import PermissionDenied, ValidationFailed
from .intake import CallEvent
from .webhook import MAX_PAYLOAD_BYTES, form_pairs, ident, json_body, text

CHANNEL = "phone"
SOURCE = "cti"
EVENTS = {"newCall": "ringing", "answer": "answered", "hangup": "ended"}
CAUSES = ("normalClearing", "busy", "cancel", "noAnswer", "congestion", "notFound", "forwarded")
CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,249}$")
MAX_FIELDS = 100
MAX_USERS = 20


class GenericCti:
    def __init__(self, token: str) -> None:
        self.token = token

    def events(self, token: str, raw: bytes, content_type: str | None) -> list[CallEvent]:
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self.token.encode()):
            raise PermissionDenied("the CTI token is wrong")
        return [read(fields(raw, content_type))]


def fields(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body's fields, JSON or form; a repeated form field (user[]) as a list."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ValidationFailed("the body is too large", field="body")
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/json" or (not kind and raw.lstrip().startswith(b"{")):
        return json_body(raw)
    if kind == "multipart/form-data":
        pairs = _multipart(raw, content_type or "")
    else:
        pairs = form_pairs(raw, max_fields=MAX_FIELDS)
    found: dict[str, Any] = {}
    for name, value in pairs:
        name = name.removesuffix("[]")
        if name in found:
            found[name] = [*found[name], value] if isinstance(found[name], list) else [found[name], value]
        else:
            found[name] = value
    return found


def _multipart(raw: bytes, content_type: str) -> list[tuple[str, str]]:
    """multipart/form-data's text fields (read with the standard library's MIME parser)."""
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
        parts = list(message.iter_parts()) if message.is_multipart() else []
    except Exception:  # the MIME parser is lenient, but a hostile body must still be a 4xx
        raise ValidationFailed("the form is not multipart/form-data", field="body") from None
    if not parts or len(parts) > MAX_FIELDS:
        raise ValidationFailed("the form has no fields, or too many", field="body")
    found = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True) or b""
        found.append((name, payload.decode(part.get_content_charset() or "utf-8", "replace")))
    return found


def read(body: dict[str, Any]) -> CallEvent:
    event = body.get("event")
    if not isinstance(event, str) or event not in EVENTS:
        raise ValidationFailed(f"event must be one of {', '.join(EVENTS)}", field="event")
    direction = body.get("direction")
    if direction not in ("in", "out"):
        raise ValidationFailed("direction must be in or out", field="direction")
    raw_id = body.get("callId")
    # As sent: an id cut short or cleaned of a NUL is another call's id.
    call_id = ident(raw_id) if isinstance(raw_id, int) else raw_id.strip() if isinstance(raw_id, str) else ""
    if not CALL_ID.fullmatch(call_id):
        raise ValidationFailed("callId is missing or not an id (letters, digits and ._:@+-, up to 250)",
                               field="callId")
    sender, receiver = _number(body.get("from")), _number(body.get("to"))
    caller, line = (sender, receiver) if direction == "in" else (receiver, sender)
    users = body.get("user")
    users = [users] if isinstance(users, str) else users if isinstance(users, list) else []
    names = [name for name in (text(u, 120).strip() for u in users[:MAX_USERS]) if name]
    cause = text(body.get("cause"), 32).strip()
    return CallEvent(channel=CHANNEL, source=SOURCE, call_id=call_id, kind=EVENTS[event], caller=caller, line=line,
                     direction=direction, queue=text(body.get("queue"), 80).strip() or None,
                     agent=ident(body.get("answeringNumber"))[:120] or (names[0] if names else None),
                     cause=cause if cause in CAUSES else ("other" if cause else None))


def _number(value: Any) -> str:
    """A number as the PBX gives it (digits, maybe a +; "anonymous"), or '' when it is none."""
    number = ident(value)[:40]
    return number if re.fullmatch(r"\+?[0-9 ()./-]{3,40}|anonymous|unknown", number, re.IGNORECASE) else ""
