"""Masking of personal data (phone, email, ID number, card number) for agents and logs.

One detector serves every road: `mask_text` (what an agent or a log line may show) and
`personal_data` (what a public reply must not carry) both read `_findings`, and `mask_value` walks
stored JSON (audit details, event payloads) through `mask_text`. Detection reads a folded copy of
the text (full-width and other Unicode digits as ASCII, compatibility forms by NFKC, one character
for one, so positions stay aligned) and lets separators (space, dot, dash, parentheses) sit between
digits; only the spans found are replaced, so the rest of the text stays as the customer wrote it
(Chinese full-width punctuation included).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, NamedTuple


def mask_phone(phone: str | None) -> str | None:
    """+6281234567890 -> 0812****7890 (local format, middle hidden)."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+62") or (digits.startswith("628") and len(digits) >= 11):
        digits = "0" + digits[2:]
    if len(digits) <= 8:
        return digits[:2] + "*" * max(len(digits) - 4, 0) + digits[-2:]
    return digits[:4] + "****" + digits[-4:]


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return (local[:1] + "***" + (local[-1:] if len(local) > 2 else "")) + "@" + domain


def mask_id_number(last4: str | None) -> str | None:
    """What agents see of an ID number: the last 4 digits only."""
    return None if last4 is None else "****" + last4


def mask_card(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "**** **** **** " + digits[-4:]


# ---------------------------------------------------------------- detection on folded text

_SEP = r"[ \t.\-\u2010-\u2015()]"  # what people put between digits (after folding)
# A run of 13-19 digits, one space, dot or dash at most between two: an ID number (16) or a card.
_LONG = re.compile(r"(?<![A-Za-z0-9])[0-9](?:[ .\-\u2010-\u2015]?[0-9]){12,18}(?![A-Za-z0-9])")
# An Indonesian mobile (08…, 628…, +62 8…) or any number written with a country code (+…).
_PHONE = re.compile(rf"(?<![A-Za-z0-9+])(?:\+{_SEP}*[0-9](?:{_SEP}{{0,2}}[0-9]){{9,13}}"
                    rf"|(?:\(?6{_SEP}?2\)?|0){_SEP}{{0,2}}8(?:{_SEP}{{0,2}}[0-9]){{7,11}})(?![0-9])")
# "budi@gmail.com", "budi [at] gmail [dot] com", "budi(at)gmail.com", "budi @ gmail.com".
_AT = r"(?:\s*@\s*|\s*\[\s*at\s*\]\s*|\s*\(\s*at\s*\)\s*|\s*\{\s*at\s*\}\s*)"
_DOT = r"(?:\.|\s*\[\s*dot\s*\]\s*|\s*\(\s*dot\s*\)\s*|\s*\{\s*dot\s*\}\s*)"
_EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+*-])([A-Za-z0-9._%+-]+){_AT}([A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)+)"
                    r"(?![A-Za-z0-9-])", re.IGNORECASE)
_DOT_WORD = re.compile(_DOT, re.IGNORECASE)


class Finding(NamedTuple):
    start: int
    end: int
    kind: str  # phone | email | id_number | card
    masked: str


def _fold(text: str) -> str:
    """The same text, one character for one, with digits as ASCII and compatibility forms folded
    (０８１２ -> 0812, ＋ -> +, （ -> (, ＠ -> @, ideographic space -> space)."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.decimal(ch, None) is not None:
            out.append(str(unicodedata.decimal(ch)))
        else:
            folded = unicodedata.normalize("NFKC", ch)
            out.append(folded if len(folded) == 1 and folded.isascii() else ch)
    return "".join(out)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _digits(s: str) -> str:
    return re.sub(r"[^0-9]", "", s)


def _findings(text: str) -> list[Finding]:
    folded = _fold(text)
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for m in _EMAIL.finditer(folded):
        domain = _DOT_WORD.sub(".", m.group(2)).lower()
        found.append(Finding(m.start(), m.end(), "email", mask_email(f"{m.group(1)}@{domain}") or ""))
        taken.append(m.span())
    for m in _LONG.finditer(folded):
        digits = _digits(m.group(0))
        # A card passes Luhn; any other 16-digit run is read as an ID number (NIK). Other lengths
        # that fail Luhn (references, amounts) stay readable.
        if luhn_valid(digits):
            kind, masked = "card", mask_card(digits)
        elif len(digits) == 16:
            kind, masked = "id_number", mask_id_number(digits[-4:]) or ""
        else:
            continue
        if free(*m.span()):
            found.append(Finding(m.start(), m.end(), kind, masked))
            taken.append(m.span())
    for m in _PHONE.finditer(folded):
        if free(*m.span()):
            found.append(Finding(m.start(), m.end(), "phone", mask_phone(_phone_form(m.group(0))) or ""))
            taken.append(m.span())
    return sorted(found)


def _phone_form(raw: str) -> str:
    return ("+" if raw.lstrip().startswith("+") else "") + _digits(raw)


def email_in(text: str) -> str | None:
    """The first e-mail address written in a text, as written."""
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def personal_data(text: str) -> list[str]:
    """What personal data a text carries, by kind (phone, email, id_number, card): what must never be
    posted where others read (a public comment reply). The same detection as `mask_text`."""
    kinds = {f.kind for f in _findings(text)}
    return [kind for kind in ("id_number", "card", "phone", "email") if kind in kinds]


def mask_text(text: str) -> str:
    """The text with every phone, email, ID and card number masked, the rest untouched. Masking a
    masked text changes nothing."""
    if not text:
        return text
    out, last = [], 0
    for f in _findings(text):
        out.append(text[last:f.start])
        out.append(f.masked)
        last = f.end
    out.append(text[last:])
    return "".join(out)


def mask_value(value: Any) -> Any:
    """`mask_text` over every string of a JSON-like value (keys stay): stored audit details and
    event payloads hold customer text (an old subject, a preview) among ids and states."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
