"""`NLU`: a trained intent model plus language detection and entity extraction, saved to a directory.

A model directory holds `manifest.json` (engine version, configuration, labels, calibration, package
versions, data fingerprint) and `model.joblib` (the fitted vectorizers and SVM, and with kNN or novelty the
training embeddings; encoders are not saved, their packages carry the weights). Only load model
directories you (or the product) wrote: like any pickle, `model.joblib` can run code.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from .data import Example, NLUDataError, load_examples
from .encoders import encoder_version
from .engine import ENGINE_VERSION, EngineConfig, IntentModel, preset
from .types import FALLBACK_INTENT, Entity, Intent, Parse

MANIFEST = "manifest.json"
MODEL_FILE = "model.joblib"
RANKING_SIZE = 10


class NLUModelError(RuntimeError):
    """A model directory that cannot be loaded; the message says why."""


def _as_examples(examples: Iterable[Any] | str | os.PathLike[str]) -> list[Example]:
    if isinstance(examples, str | os.PathLike):
        return load_examples(examples)
    out = []
    for item in examples:
        if isinstance(item, Example):
            out.append(item)
        elif isinstance(item, tuple | list) and len(item) == 2:
            out.append(Example(str(item[0]), str(item[1])))
        elif isinstance(item, dict) and "text" in item and ("intent" in item or "category" in item):
            out.append(Example(str(item["text"]), str(item.get("intent", item.get("category")))))
        else:
            raise NLUDataError(f"cannot read {item!r} as an example: expected (text, intent)")
    if not out:
        raise NLUDataError("no examples to train on")
    return out


def _versions(config: EngineConfig) -> dict[str, str]:
    versions = {"scikit-learn": version("scikit-learn"), "numpy": version("numpy")}
    for name in config.encoders:
        versions[name] = encoder_version(name)
    return versions


# ------------------------------------------------------------------ language and entities


def detect_language(text: str, hint: str | None = None) -> str:
    """The language module's answer when it exists, else a tiny internal guess."""
    try:
        from . import language
    except ImportError:  # pragma: no cover - written by another person; until then the fallback
        language = None  # type: ignore[assignment]
    if language is not None and hasattr(language, "detect"):
        return str(language.detect(text))
    return _fallback_language(text)


_ID_WORDS = frozenset("saya sy aku gak ga tidak tdk belum blm sudah udah dong kok bisa mau kenapa gimana yang "
                      "dan di ke dari ini itu apa ada tolong minta masuk saldo akun".split())


def _fallback_language(text: str) -> str:
    if any("\u3400" <= ch <= "\u9fff" for ch in text):
        return "zh-CN"
    words = {w.strip(".,!?").lower() for w in text.split()}
    return "id" if len(words & _ID_WORDS) >= 1 else "en"


def _canonical_lang(lang: str) -> str:
    try:
        from . import language
    except ImportError:  # pragma: no cover
        return lang
    canonical = getattr(language, "canonical", None)
    return (canonical(lang) or lang) if canonical else lang


def extract_entities(text: str, lang: str) -> list[Entity]:
    try:
        from . import entities
    except ImportError:  # pragma: no cover - written by another person; until then no entities
        return []
    return list(entities.extract(text, lang))


# ------------------------------------------------------------------ the NLU


class NLU:
    """Intent classification with a calibrated fallback, language detection and entities."""

    def __init__(self, model: IntentModel, meta: dict[str, Any] | None = None) -> None:
        self.model = model
        self.meta = dict(meta or {})

    # -------------------------------------------------------------- train / save / load

    @classmethod
    def train(cls, examples: Iterable[Any] | str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
              config: EngineConfig | str = "full", fingerprint: str = "") -> NLU:
        """Train on (text, intent) pairs, `Example`s or a data path; save to `out_dir` when given."""
        if isinstance(config, str):
            config = preset(config)
        data = _as_examples(examples)
        started = time.perf_counter()
        model = IntentModel(config).fit([e.text for e in data], [e.intent for e in data])
        meta = {"fingerprint": fingerprint, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "train_seconds": round(time.perf_counter() - started, 2)}
        nlu = cls(model, meta)
        if out_dir is not None:
            nlu.save(out_dir)
        return nlu

    def manifest(self) -> dict[str, Any]:
        return {**self.model.summary(), **self.meta, "versions": _versions(self.model.config)}

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write the model to `out_dir` (created; replaced whole, never left half-written)."""
        import joblib

        target = Path(out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            joblib.dump(self.model, staging / MODEL_FILE, compress=3)
            (staging / MANIFEST).write_text(json.dumps(self.manifest(), indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
            if target.exists():
                old = target.with_name(f".{target.name}.old.{os.getpid()}")
                target.rename(old)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    @staticmethod
    def read_manifest(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
        path = Path(model_dir)
        if not path.is_dir():
            raise NLUModelError(f"{path}: no such model directory")
        try:
            return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NLUModelError(f"{path}: not an NLU model directory (no {MANIFEST})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NLUModelError(f"{path / MANIFEST}: unreadable ({exc})") from None

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str]) -> NLU:
        import joblib

        path = Path(model_dir)
        manifest = cls.read_manifest(path)
        if str(manifest.get("engine_version")) != ENGINE_VERSION:
            raise NLUModelError(f"{path}: trained by NLU engine {manifest.get('engine_version')}, this is "
                                f"{ENGINE_VERSION}: train it again")
        config = EngineConfig.from_dict(manifest.get("config", {}))
        wanted, have = manifest.get("versions", {}), _versions(config)
        stale = {k: (wanted.get(k), v) for k, v in have.items() if k in wanted and wanted[k] != v}
        if stale:
            detail = ", ".join(f"{k} {a} (now {b})" for k, (a, b) in stale.items())
            raise NLUModelError(f"{path}: trained with {detail}: train it again")
        try:
            model = joblib.load(path / MODEL_FILE)
        except FileNotFoundError:
            raise NLUModelError(f"{path}: {MODEL_FILE} is missing") from None
        except Exception as exc:  # a truncated or foreign file
            raise NLUModelError(f"{path / MODEL_FILE}: unreadable ({type(exc).__name__}: {exc})") from None
        if not isinstance(model, IntentModel):
            raise NLUModelError(f"{path / MODEL_FILE}: not an NLU model")
        meta = {k: manifest[k] for k in ("fingerprint", "trained_at", "train_seconds") if k in manifest}
        return cls(model, meta)

    # -------------------------------------------------------------- parsing

    @property
    def threshold(self) -> float:
        return self.model.calibration.threshold

    @property
    def intents(self) -> list[str]:
        return list(self.model.labels)

    def rank(self, texts: list[str]) -> np.ndarray:
        """Calibrated probabilities (rows: texts, columns: `intents`)."""
        return self.model.predict_proba(texts)

    def parse(self, text: str, lang: str | None = None) -> Parse:
        text = text if isinstance(text, str) else str(text or "")
        lang = _canonical_lang(lang) if lang else detect_language(text)
        entities = extract_entities(text, lang) if text.strip() else []
        if not text.strip():
            return Parse(text=text, intent=Intent(FALLBACK_INTENT, 0.0), intent_ranking=[], entities=entities,
                         lang=lang)
        all_probs, acceptance = self.model.score([text])
        probs = all_probs[0]
        order = np.argsort(-probs, kind="stable")[:RANKING_SIZE]
        ranking = [Intent(self.model.labels[i], round(float(probs[i]), 6)) for i in order]
        # The threshold applies to the acceptance confidence (the top probability, discounted by novelty when
        # the model has a novelty calibration). An accepted intent keeps its probability as in the ranking
        # (>= the acceptance confidence); a fallback carries the acceptance confidence (< the threshold).
        intent = ranking[0]
        if float(acceptance[0]) < self.threshold:
            intent = Intent(FALLBACK_INTENT, round(float(acceptance[0]), 6))
        return Parse(text=text, intent=intent, intent_ranking=ranking, entities=entities, lang=lang)

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(intent or nlu_fallback, confidence) for many texts at once (batched encoders)."""
        return self.model.predict(list(texts))
