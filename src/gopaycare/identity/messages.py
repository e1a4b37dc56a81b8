"""Texts sent to customers by SMS or email, in the three languages (message catalogs, contexts
"identity" and "identity.purpose", gopaycare/locale/)."""

from __future__ import annotations

from ..platform import catalog

# What a one-time code can be for; each has its words in the catalogs.
CODE_PURPOSES = ("login", "password_reset", "pin_reset", "step_up", "freeze", "change_old", "change_new")


def say(key: str, lang: str | None, **values: object) -> str:
    return catalog.text("identity", key, lang, **values)


def purpose(name: str, lang: str | None) -> str:
    """What a one-time code is for, in words: 'reset your PIN'."""
    return catalog.text("identity.purpose", name, lang)
