"""Masking of personal data (phone, email, ID number, card number) for agents and logs."""

from __future__ import annotations

import re


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


# Patterns for free text (log lines, messages shown to agents). Order matters: long digit runs
# (cards, 16-digit NIK) before phone numbers so a card is not half-masked as a phone.
_CARD = re.compile(r"\b(?:\d[ -]?){15,18}\d\b")
_NIK = re.compile(r"\b\d{16}\b")
# A separator may follow the country code too: "+62 812 3456 7890" was left in clear.
_PHONE = re.compile(r"(?<![\w])(?:\+?62[ -]?|0)8\d{1,3}[ -]?\d{3,4}[ -]?\d{3,5}\b|\+\d{10,14}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


def email_in(text: str) -> str | None:
    """The first e-mail address written in a text, as written."""
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def personal_data(text: str) -> list[str]:
    """What personal data a text carries, by kind (phone, id_number, card): what must never be posted
    where others read (a public comment reply)."""
    kinds = [("id_number", _NIK), ("card", _CARD), ("phone", _PHONE)]
    return [kind for kind, pattern in kinds if pattern.search(text)]


def mask_text(text: str) -> str:
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)) or "", text)
    # A bare 16-digit run is read as an ID number (NIK) first; cards are usually written in groups.
    text = _NIK.sub(lambda m: mask_id_number(m.group(0)[-4:]) or "", text)
    text = _CARD.sub(lambda m: mask_card(m.group(0)), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    return text
