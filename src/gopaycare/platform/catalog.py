"""The message catalogs: every user-facing sentence in zh-CN (the default), en and id.

They are gettext `.po` files under `gopaycare/locale/<lang>/LC_MESSAGES/gopaycare.po`, read with Babel
on first use and kept in memory (docs/adr/0008-text-catalogs.md). A message is found by a context
(the module that says it: "assistant", "promotions.word", ...) and a key (the msgid), and is filled in
with `str.format`: `text("assistant", "handoff", "id", minutes=3)`.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from .i18n import DEFAULT_LANGUAGE, LANGUAGES, normalize_language

DOMAIN = "gopaycare"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

Messages = dict[tuple[str, str], str]


def folder(lang: str) -> str:
    """'zh-CN' -> 'zh_CN', gettext's spelling of a locale."""
    return lang.replace("-", "_")


def read(path: Path) -> Messages:
    """(context, msgid) -> text of one .po file; fuzzy and empty translations count as missing."""
    with path.open("rb") as f:
        catalog = read_po(f, domain=DOMAIN, ignore_obsolete=True, abort_invalid=True)
    return {(m.context or "", str(m.id)): str(m.string) for m in catalog
            if m.id and m.string and not m.fuzzy}


@cache
def messages(lang: str) -> Messages:
    return read(LOCALE_DIR / folder(lang) / "LC_MESSAGES" / f"{DOMAIN}.po")


def lookup(context: str, key: str, lang: str | None) -> str | None:
    """The message in `lang`, else in zh-CN; None when the catalogs do not have the key."""
    found = messages(normalize_language(lang)).get((context, key))
    return found if found is not None else messages(DEFAULT_LANGUAGE).get((context, key))


def text(context: str, key: str, lang: str | None, **values: object) -> str:
    """The message filled in with `values`; an unknown key is a KeyError (a bug, not a customer's input)."""
    found = lookup(context, key, lang)
    if found is None:
        raise KeyError(f"{context}:{key}")
    return found.format(**values)


def placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


def problems(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """What stops the catalogs from saying every message in every language: a key missing (or empty,
    or fuzzy) in one language, a text str.format cannot fill in, or a text whose placeholders differ
    from the zh-CN text's."""
    catalogs = {lang: read(locale_dir / folder(lang) / "LC_MESSAGES" / f"{DOMAIN}.po") for lang in LANGUAGES}
    fields: dict[str, dict[tuple[str, str], frozenset[str] | None]] = {lang: {} for lang in LANGUAGES}
    found: list[str] = []
    for lang, catalog in catalogs.items():
        for key, template in catalog.items():
            try:
                fields[lang][key] = placeholders(template)
            except ValueError as exc:  # an unbalanced brace: str.format would fail at run time
                fields[lang][key] = None
                found.append(f"{lang} {key[0]}:{key[1]}: {exc}")
    reference = fields[DEFAULT_LANGUAGE]
    for key in sorted(set().union(*(catalog.keys() for catalog in catalogs.values()))):
        for lang in LANGUAGES:
            name = f"{lang} {key[0]}:{key[1]}"
            if key not in catalogs[lang]:
                found.append(f"{name}: no translation")
            elif lang != DEFAULT_LANGUAGE and None not in (fields[lang][key], reference.get(key)) \
                    and fields[lang][key] != reference[key]:
                found.append(f"{name}: placeholders {sorted(fields[lang][key] or ())}, "
                             f"zh-CN has {sorted(reference[key] or ())}")
    return found
