"""The assistant's NLU data: complete, big enough, and a test set that never leaks into training."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "gopaycare" / "assistant" / "data"
SPEC = DATA / "intents.yaml"  # the taxonomy (a copy of the product spec's, kept with the data)
LANGS = ("zh-CN", "en", "id")
OOS = "oos"
MINIMUM = {"train": {"intent": 60, OOS: 150}, "test": {"intent": 15, OOS: 40}}


def intents() -> list[str]:
    return list(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["intents"])


def load(split: str, lang: str) -> dict[str, list[str]]:
    data = yaml.safe_load((DATA / split / f"{lang}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{split}/{lang}.yaml is not a mapping"
    return data


def key(text: str) -> str:
    """What counts as the same utterance: case, width, whitespace and punctuation ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_intent_present_with_enough_clean_examples(split: str, lang: str) -> None:
    data = load(split, lang)
    expected = set(intents()) | {OOS}
    assert set(data) == expected, f"missing {expected - set(data)}, unknown {set(data) - expected}"
    seen: dict[str, str] = {}
    for intent, examples in data.items():
        assert isinstance(examples, list), f"{split}/{lang} {intent}: not a list"
        need = MINIMUM[split][OOS if intent == OOS else "intent"]
        assert len(examples) >= need, f"{split}/{lang} {intent}: {len(examples)} examples, need {need}"
        for example in examples:
            assert isinstance(example, str), f"{split}/{lang} {intent}: {example!r} is not a string"
            assert example.strip() and key(example), f"{split}/{lang} {intent}: empty example"
            k = key(example)
            assert k not in seen, f"{split}/{lang}: {example!r} in {intent} duplicates one in {seen[k]}"
            seen[k] = intent


def test_no_test_phrasing_appears_in_any_training_file() -> None:
    trained = {key(s): (lang, intent) for lang in LANGS for intent, v in load("train", lang).items() for s in v}
    leaks = [
        f"{lang} {intent}: {s!r} (train {trained[key(s)]})"
        for lang in LANGS
        for intent, v in load("test", lang).items()
        for s in v
        if key(s) in trained
    ]
    assert not leaks, "test examples found in train:\n" + "\n".join(leaks)
