"""Reading one inbound mail, as an SMTP server received its bytes, without trusting any of it.

`read_mail` never raises: a header that does not parse is read raw, a charset nobody knows is read
as UTF-8 with replacement characters, and a MIME structure that is broken (no boundary, a part that
never ends, bad base64) keeps the mail readable as best it can be, flagged with `error` and its raw
text kept (`raw`), so nothing a customer sent is lost. Attachments come out as
`MailFile`s with their bytes and the type and name the mail declared (the intake keeps them through
the attachment store, which trusts neither); past MAX_ATTACHMENTS they are counted, not read.

A delivery status notification (RFC 3464: multipart/report; report-type=delivery-status) is read
into `Bounce`: who could not be reached, the status, and the Message-ID of our mail that bounced.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr
from typing import Any

from .webhook import text

MAX_TEXT = 19_000  # the desk keeps a message of at most 20 000 characters
MAX_RAW = 64_000  # of a broken mail's raw text, kept for an agent to read
MAX_ATTACHMENTS = 20
MAX_IDS = 20  # Message-IDs kept from References (the root and the latest ones)
MESSAGE_ID = re.compile(r"<[^<>\s]{1,190}>")
_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,190}$")
# Defects that mean the MIME structure itself is broken (others, like an odd header, are harmless).
_BROKEN = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
           errors.CloseBoundaryNotFoundDefect, errors.MultipartInvariantViolationDefect,
           errors.InvalidBase64PaddingDefect, errors.InvalidBase64CharactersDefect,
           errors.InvalidBase64LengthDefect, errors.MissingHeaderBodySeparatorDefect,
           errors.FirstHeaderLineIsContinuationDefect, errors.MisplacedEnvelopeHeaderDefect)


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says: a mail of ours that could not be delivered."""

    recipients: list[str]  # Final-Recipient addresses whose Action is "failed"
    status: str  # the first failed recipient's Status (5.1.1...), or ""
    original_message_id: str | None  # the bounced mail's Message-ID, when the report quotes it
    delayed_only: bool = False  # "delayed": it may still arrive, nothing has failed yet


@dataclass(frozen=True)
class MailFile:
    content_type: str  # as the part declares it
    filename: str | None
    data: bytes


@dataclass(frozen=True)
class Mail:
    sender: str | None  # the From address, lower case; None when it is no address
    name: str | None
    subject: str
    message_id: str  # the Message-ID, or "sha256:…" of the raw bytes when there is none
    in_reply_to: list[str]
    references: list[str]
    recipients: list[str]  # To and Cc addresses
    text: str  # the text a person wrote (the plain part, or the HTML part's text)
    files: list[MailFile] = field(default_factory=list)
    more_files: int = 0  # attachments past MAX_ATTACHMENTS, not read
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased name -> first raw value
    bounce: Bounce | None = None
    error: str | None = None  # what is broken in the mail, if anything
    raw: str | None = None  # the raw text of a broken mail (bounded)


def read_mail(raw: bytes) -> Mail:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; anything it still cannot take is kept raw
        return _unreadable(raw, f"unparseable: {type(exc).__name__}")
    headers = _raw_headers(message)
    problems: list[str] = []
    body_part, body = _body(message, problems)
    files, more_files = _attachments(message, body_part, problems)
    defects = sorted({type(d).__name__ for part in _walk(message, problems) for d in part.defects
                      if isinstance(d, _BROKEN)})
    problems.extend(defects)
    if not body.strip() and problems:
        body = _raw_text(_raw_body(raw))  # nothing readable came out of the structure: its raw text is what there is
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    sender, name = _from(message, headers)
    error = ", ".join(dict.fromkeys(problems))[:300] or None
    return Mail(sender=sender, name=name, subject=_subject(message, headers), message_id=_message_id(headers, raw),
                in_reply_to=_ids(headers.get("in-reply-to", "")), references=_ids(headers.get("references", "")),
                recipients=_recipients(headers), text=body, files=files, more_files=more_files, headers=headers,
                bounce=_bounce(message, headers, problems), error=error,
                raw=_raw_text(raw, MAX_RAW) if error else None)


def _unreadable(raw: bytes, error: str) -> Mail:
    try:
        headers = {k.lower(): _clean(str(v)) for k, v in BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
                   .items()}
    except Exception:
        headers = {}
    sender, _ = parseaddr(headers.get("from", ""))
    return Mail(sender=_address(sender), name=None, subject=headers.get("subject", "")[:200],
                message_id=_message_id(headers, raw), in_reply_to=[], references=[], recipients=[],
                text=_raw_text(_raw_body(raw)), headers=headers, error=error, raw=_raw_text(raw, MAX_RAW))


# ---------------------------------------------------------------- headers


def _clean(value: str, limit: int = 2000) -> str:
    return text(value, limit).replace("\r", " ").replace("\n", " ").strip()


def _raw_headers(message: Message) -> dict[str, str]:
    """The first value of each header, unparsed (a header that breaks the parser is still read)."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        key = _clean(str(name), 80).lower()
        if key and key not in found:
            found[key] = _clean(str(value), 4000)
    return found


def _parsed(message: Message, name: str) -> Any:
    try:
        return message.get(name)
    except Exception:  # a header the registry cannot parse: the caller falls back to the raw value
        return None


def _address(value: str | None) -> str | None:
    value = text(value or "", 254).strip().lower()
    return value if _ADDRESS.match(value) else None


def _from(message: Message, headers: dict[str, str]) -> tuple[str | None, str | None]:
    header = _parsed(message, "From")
    try:
        found = header.addresses[0] if header is not None and header.addresses else None
        if found is not None:
            return _address(found.addr_spec), _clean(found.display_name, 120) or None
    except Exception:
        pass
    name, address = parseaddr(headers.get("from", ""))
    return _address(address), _clean(name, 120) or None


def _recipients(headers: dict[str, str]) -> list[str]:
    found = []
    for name in ("to", "cc", "delivered-to"):
        for piece in headers.get(name, "").split(","):
            address = _address(parseaddr(piece)[1])
            if address:
                found.append(address)
    return found[:50]


def _subject(message: Message, headers: dict[str, str]) -> str:
    header = _parsed(message, "Subject")
    value = str(header) if header is not None else headers.get("subject", "")
    return _clean(value, 200)


def _ids(value: str) -> list[str]:
    ids = MESSAGE_ID.findall(text(value, 20_000))
    return ids if len(ids) <= MAX_IDS else [ids[0], *ids[-(MAX_IDS - 1):]]


def _message_id(headers: dict[str, str], raw: bytes) -> str:
    ids = _ids(headers.get("message-id", ""))
    return ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()


# ---------------------------------------------------------------- the body and attachments


def _walk(message: Message, problems: list[str]) -> list[Message]:
    try:
        return list(message.walk())
    except Exception as exc:
        problems.append(f"walk: {type(exc).__name__}")
        return [message]


def _body(message: Message, problems: list[str]) -> tuple[Message | None, str]:
    part = None
    try:
        if isinstance(message, EmailMessage):
            part = message.get_body(preferencelist=("plain", "html"))
    except Exception as exc:
        problems.append(f"body: {type(exc).__name__}")
    if part is None and not message.is_multipart() and message.get_content_maintype() == "text":
        part = message
    if part is None:
        return None, ""
    content = _decoded_text(part, problems)
    if part.get_content_subtype() == "html":
        content = html_text(content)
    return part, content


def _decoded_text(part: Message, problems: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        problems.append(f"payload: {type(exc).__name__}")
        return ""
    if not isinstance(payload, bytes):
        return ""
    charset = str(part.get_content_charset("utf-8") or "utf-8")
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        problems.append("unknown charset")
        return payload.decode("utf-8", errors="replace")


def _attachments(message: Message, body_part: Message | None, problems: list[str]) -> tuple[list[MailFile], int]:
    found: list[MailFile] = []
    more = 0
    for part in _walk(message, problems):
        if part is body_part or part.is_multipart() or part is message:
            continue
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        if disposition != "attachment" and kind in ("text/plain", "text/html"):
            continue  # the other alternative of the body
        if len(found) >= MAX_ATTACHMENTS:
            more += 1
            continue
        try:
            payload = part.get_payload(decode=True)
            filename = part.get_filename()
        except Exception:
            payload, filename = b"", None
        found.append(MailFile(text(kind, 100), text(filename, 200) or None,
                              payload if isinstance(payload, bytes) else b""))
    return found, more


class _HtmlText(html.parser.HTMLParser):
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.pieces.append(data)


def html_text(markup: str) -> str:
    """What an HTML-only mail says, as plain text."""
    reader = _HtmlText()
    try:
        reader.feed(markup[:500_000])
        reader.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", markup)
    lines = (" ".join(line.split()) for line in "".join(reader.pieces).splitlines())
    return "\n".join(line for line in lines if line)


def _raw_body(raw: bytes) -> bytes:
    """What follows the header block (the whole mail when there is no blank line)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            return body
    return raw


def _raw_text(raw: bytes, limit: int = MAX_TEXT) -> str:
    return raw[: limit * 4].decode("utf-8", errors="replace").replace("\x00", "")[:limit]


# ---------------------------------------------------------------- delivery status notifications


def _bounce(message: Message, headers: dict[str, str], problems: list[str]) -> Bounce | None:
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failed: list[str] = []
    status, delayed, original = "", False, None
    for part in _walk(message, problems):
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                action = block.get("action", "").lower()
                recipient = _address(block.get("final-recipient", "").split(";")[-1].strip())
                if action == "failed" and recipient:
                    failed.append(recipient)
                    status = status or block.get("status", "")[:20]
                delayed = delayed or action == "delayed"
        elif kind in ("text/rfc822-headers", "message/rfc822", "message/rfc822-headers") and original is None:
            original = _quoted_message_id(part)
    if original is None:
        ours = _ids(headers.get("in-reply-to", "")) + _ids(headers.get("references", ""))
        original = ours[-1] if ours else None
    return Bounce(recipients=failed, status=status, original_message_id=original,
                  delayed_only=delayed and not failed)


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field blocks of a message/delivery-status part."""
    try:
        payload = part.get_payload()
    except Exception:
        return []
    blocks = payload if isinstance(payload, list) else []
    return [{str(k).lower(): _clean(str(v), 300) for k, v in block.items()} for block in blocks
            if isinstance(block, Message)]


def _quoted_message_id(part: Message) -> str | None:
    try:
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            value = str(payload[0].get("Message-ID", ""))
        else:
            raw = part.get_payload(decode=True) or b""
            value = str(BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get("Message-ID", ""))
    except Exception:
        return None
    ids = _ids(value)
    return ids[0] if ids else None
