"""The conversation suite (tests/conversations/*.yaml, format in its README.md): every conversation
played through the real API on a fresh copy of the seeded demo; a failure shows the transcript.
The per-language pass rate is printed at the end of the run (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conversation_runner import AREAS, LANGUAGES, Stage, load, reply_language

HERE = Path(__file__).parent / "conversations"
CONVERSATIONS = load(HERE)


@pytest.fixture(scope="session")
def stage(product_nlu, tmp_path_factory):
    """The demo seeded once per worker; each conversation plays on a copy of it."""
    return Stage(tmp_path_factory.mktemp("conversations"), product_nlu)


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.id for c in CONVERSATIONS])
def test_conversation(stage, conversation, record_property):
    record_property("conversation_lang", conversation.lang)
    result = stage.play(conversation)
    assert result.passed, "\n".join([*result.failures, "--- transcript", *result.transcript])


def test_the_suite_covers_every_language_and_area():
    """At least 150 conversations, every language with a fair share, every service area in each."""
    assert len(CONVERSATIONS) >= 150
    for lang in LANGUAGES:
        mine = [c for c in CONVERSATIONS if c.lang == lang]
        assert len(mine) >= 40, lang
        assert {c.area for c in mine} >= set(AREAS) - {"general"}, lang


@pytest.mark.parametrize(("text", "lang"), [
    ("您今天17:07在Bukaloka的Rp150.000付款失败", "zh-CN"),
    ("Your payment of Rp150.000 at Bukaloka failed today", "en"),
    ("Pembayaran Anda sebesar Rp150.000 di Bukaloka gagal hari ini", "id"),
    ("Rp150.000", None),
])
def test_reply_language_is_read_from_the_reply(text, lang):
    assert reply_language(text) == lang
