"""The message catalogs (gopaycare/locale/*/LC_MESSAGES/gopaycare.po): every message in all three
languages with the zh-CN text's placeholders, zh-CN as the fallback, and shipped with the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gopaycare.identity import messages
from gopaycare.platform import catalog

ROOT = Path(__file__).resolve().parent.parent
HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'


def write_catalogs(root: Path, entries: dict[str, str]) -> Path:
    """entries: language -> the .po body after the header."""
    for lang, body in entries.items():
        path = root / catalog.folder(lang) / "LC_MESSAGES" / "gopaycare.po"
        path.parent.mkdir(parents=True)
        path.write_text(HEADER + body, encoding="utf-8")
    return root


def entry(key: str, text: str, *, context: str = "t", fuzzy: bool = False) -> str:
    flag = "#, fuzzy\n" if fuzzy else ""
    return f'{flag}msgctxt "{context}"\nmsgid "{key}"\nmsgstr "{text}"\n\n'


@pytest.fixture
def locale_dir(tmp_path, monkeypatch):
    """Point the catalogs at a folder the test writes (and forget what was read before and after)."""
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path)
    catalog.messages.cache_clear()
    yield tmp_path
    catalog.messages.cache_clear()


# ---------------------------------------------------------------- the shipped catalogs


def test_every_message_is_in_every_language_with_the_same_placeholders():
    assert catalog.problems() == []


def test_the_shipped_catalogs_hold_the_assistants_sentences():
    # Given the catalogs shipped in the package
    # When a sentence with a placeholder is rendered in each language
    # Then it is the translated sentence, filled in
    assert catalog.text("assistant", "code_wrong", "zh-CN", left=2) == "验证码不正确，还可以再试2次。"
    assert catalog.text("assistant", "code_wrong", "en", left=2) == "That code is not right; 2 tries left."
    assert catalog.text("assistant", "code_wrong", "id", left=2) == "Kodenya salah; sisa 2 kali percobaan."


def test_a_text_spanning_lines_keeps_its_newlines_and_quotes():
    assert catalog.text("assistant", "fallback_article", "en", title="Top up", snippet="Use a bank.") == \
        'This help article may answer it: "Top up"\nUse a bank.'


def test_every_code_purpose_has_words_in_every_language():
    # Given every purpose a one-time code can have
    # When each is put in words in each language
    texts = {(name, lang): messages.purpose(name, lang) for name in messages.CODE_PURPOSES
             for lang in ("zh-CN", "en", "id")}

    # Then none is missing and the words differ per language where the languages differ
    assert texts[("pin_reset", "zh-CN")] == "重置PIN"
    assert texts[("pin_reset", "en")] == "reset your PIN"
    assert texts[("pin_reset", "id")] == "atur ulang PIN"
    assert len(texts) == 3 * len(messages.CODE_PURPOSES)


def test_the_csat_question_is_in_the_catalogs():
    # The desk's CSAT survey asks this question (context "desk.csat", msgid "question").
    assert catalog.text("desk.csat", "question", "en", ticket_id=7).startswith("Your request #7 has been solved.")


def test_the_catalogs_are_package_data():
    # Given the package-data globs of pyproject.toml
    with (ROOT / "pyproject.toml").open("rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["gopaycare"]
    package = ROOT / "src" / "gopaycare"

    # When the files they select (as setuptools globs them) are listed
    shipped = {path for pattern in globs for path in package.glob(pattern)}

    # Then all three languages' catalogs are among them
    catalogs = sorted((package / "locale").rglob("*.po"))
    assert [path.relative_to(package).as_posix() for path in catalogs] == [
        "locale/en/LC_MESSAGES/gopaycare.po", "locale/id/LC_MESSAGES/gopaycare.po",
        "locale/zh_CN/LC_MESSAGES/gopaycare.po"]
    assert set(catalogs) <= shipped


# ---------------------------------------------------------------- the check


def test_a_missing_translation_is_a_problem(locale_dir):
    # Given an English catalog without one of the keys
    write_catalogs(locale_dir, {"zh-CN": entry("a", "甲") + entry("b", "乙"), "en": entry("a", "A"),
                                "id": entry("a", "A") + entry("b", "B")})

    # When the catalogs are checked
    # Then the missing one is named
    assert catalog.problems(locale_dir) == ["en t:b: no translation"]


def test_an_empty_or_fuzzy_translation_is_missing(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "甲") + entry("b", "乙"),
                                "en": entry("a", "") + entry("b", "B", fuzzy=True),
                                "id": entry("a", "A") + entry("b", "B")})

    assert catalog.problems(locale_dir) == ["en t:a: no translation", "en t:b: no translation"]


def test_a_key_only_another_language_has_is_missing_in_zh_cn(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "甲"), "en": entry("a", "A") + entry("b", "B"),
                                "id": entry("a", "A")})

    assert catalog.problems(locale_dir) == ["zh-CN t:b: no translation", "id t:b: no translation"]


def test_placeholders_that_differ_from_zh_cn_are_a_problem(locale_dir):
    # Given an Indonesian text that renamed a placeholder and an English one that dropped one
    write_catalogs(locale_dir, {"zh-CN": entry("a", "{n}分钟{who}"), "en": entry("a", "{n} min"),
                                "id": entry("a", "{m} menit {who}")})

    # When the catalogs are checked
    # Then both are named with what they have and what zh-CN has
    assert catalog.problems(locale_dir) == ["en t:a: placeholders ['n'], zh-CN has ['n', 'who']",
                                            "id t:a: placeholders ['m', 'who'], zh-CN has ['n', 'who']"]


def test_a_text_str_format_cannot_fill_in_is_a_problem(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "{n}分钟"), "en": entry("a", "{n min"),
                                "id": entry("a", "{n} menit")})

    assert catalog.problems(locale_dir) == ["en t:a: expected '}' before end of string"]


# ---------------------------------------------------------------- looking a message up


def test_a_language_without_the_message_falls_back_to_zh_cn(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "{n}分钟"), "en": "", "id": entry("a", "{n} menit")})

    assert catalog.text("t", "a", "en", n=3) == "3分钟"
    assert catalog.text("t", "a", "id", n=3) == "3 menit"


def test_a_language_is_normalized_and_an_unknown_one_is_zh_cn(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "甲"), "en": entry("a", "A"), "id": entry("a", "I")})

    assert [catalog.text("t", "a", lang) for lang in ("en-US", "in", "zh_TW", None, "fr")] == \
        ["A", "I", "甲", "甲", "甲"]


def test_an_unknown_key_is_a_key_error_and_lookup_says_none(locale_dir):
    write_catalogs(locale_dir, {"zh-CN": entry("a", "甲"), "en": entry("a", "A"), "id": entry("a", "I")})

    with pytest.raises(KeyError, match="t:b"):
        catalog.text("t", "b", "en")
    assert catalog.lookup("t", "b", "en") is None
    assert catalog.lookup("other", "a", "en") is None
