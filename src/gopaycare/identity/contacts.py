"""Normalizing phone numbers (E.164, with libphonenumber) and email addresses."""

from __future__ import annotations

import re

import phonenumbers

from ..platform.errors import ValidationFailed

DEFAULT_REGION = "ID"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """'0812-3456-7890', '+62 812 3456 7890' and '62812...' all become '+6281234567890'."""
    text = (raw or "").strip()
    if text.startswith("62") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed("not a phone number", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("not a valid phone number", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationFailed("not an email address", field="email")
    return email


def looks_like_email(text: str) -> bool:
    return "@" in text
