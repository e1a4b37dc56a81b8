"""Training and test data for the NLU: a CSV (columns text,category) or the project's YAML
({intent_name: [examples, ...]} per file), a file or a directory of such files (e.g. one per language).

The label `oos` (CLINC150's and the project data's) or `out_of_scope` (the taxonomy's) marks an
out-of-scope example; both are read as `out_of_scope`, the taxonomy's name, so one meaning is one class.
Each example remembers its source file (the language, for the project's YAML).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

OOS_LABEL = "out_of_scope"
OOS_LABELS = frozenset({"oos", OOS_LABEL})


class NLUDataError(ValueError):
    """Training or test data that cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str = ""

    def __post_init__(self) -> None:
        if self.intent in OOS_LABELS:
            object.__setattr__(self, "intent", OOS_LABEL)


def is_oos(label: str) -> bool:
    return label in OOS_LABELS


def load_examples(path: str | Path) -> list[Example]:
    """Examples from a .csv, .yaml/.yml file, or a directory of them (read in name order)."""
    path = Path(path)
    if not path.exists():
        raise NLUDataError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in {".csv", ".yaml", ".yml"})
        if not files:
            raise NLUDataError(f"{path}: no .csv, .yaml or .yml files in this directory")
        examples = [e for f in files for e in _load_file(f)]
    else:
        examples = _load_file(path)
    if not examples:
        raise NLUDataError(f"{path}: no examples")
    return examples


def _load_file(path: Path) -> list[Example]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _load_csv(path)
    if suffix in {".yaml", ".yml"}:
        return _load_yaml(path)
    raise NLUDataError(f"{path}: unknown format (expected .csv, .yaml or .yml)")


def _load_csv(path: Path) -> list[Example]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in (reader.fieldnames or [])]
            if not columns:
                raise NLUDataError(f"{path}: empty file (expected a header row: text,category)")
            missing = [c for c in ("text", "category") if c not in columns]
            if missing:
                raise NLUDataError(f"{path}: missing column(s) {', '.join(missing)} "
                                   f"(found: {', '.join(reader.fieldnames or [])}; expected text,category)")
            original = {c.strip().lower(): c for c in reader.fieldnames or []}
            examples = []
            for line, row in enumerate(reader, start=2):
                text = (row.get(original["text"]) or "").strip()
                label = (row.get(original["category"]) or "").strip()
                if not text and not label:
                    continue
                if not text or not label:
                    raise NLUDataError(f"{path}:{line}: a row needs both text and category")
                examples.append(Example(text, label, path.stem))
    except UnicodeDecodeError as exc:
        raise NLUDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return examples


def _load_yaml(path: Path) -> list[Example]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise NLUDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise NLUDataError(f"{path}: invalid YAML ({exc})") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise NLUDataError(f"{path}: expected a mapping {{intent_name: [examples, ...]}}")
    examples = []
    for intent, texts in data.items():
        if not isinstance(intent, str) or not intent.strip():
            raise NLUDataError(f"{path}: intent names must be non-empty strings, got {intent!r}")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list):
            raise NLUDataError(f"{path}: {intent}: expected a list of example strings")
        for text in texts:
            if not isinstance(text, str | int | float):
                raise NLUDataError(f"{path}: {intent}: example {text!r} is not a string")
            text = str(text).strip()
            if text:
                examples.append(Example(text, intent.strip(), path.stem))
    return examples
