"""The trainable intent classifier.

Features, each block L2-normalized so that no block dominates by scale:
- character n-grams (char_wb, 1-4) of the normalized text (full-width, case, accents and Traditional
  characters folded by `platform.text.normalize`): robust to typos, inflection and code-mixing, and
  Chinese needs no segmentation for them;
- word uni- and bi-grams from `platform.text.segment` (jieba for Chinese runs);
- optional sentence embeddings from encoders that ship their weights (see `encoders`): e5 and/or USE.

A linear SVM (one-vs-rest, squared hinge) learns over the concatenation. With `knn > 0` (preset
`full-knn`) a second member votes: the k training examples nearest in embedding space (cosine), each
weighted exp(cosine / 0.02), so near-paraphrases of a training example decide; the SVM's probabilities
(at its own fitted temperature) and the vote are averaged. It helps on fine-grained intents with many
paraphrases (BANKING77), but a nearest neighbour is confident on out-of-scope text too, so it is not
the default. The scores become probabilities through a softmax whose temperature is fitted (negative
log-likelihood) on out-of-fold scores of a stratified K-fold over the training data, so a confidence
of 0.8 means right about 80% of the time on held-out data.

Novelty (`novelty_k > 0`: presets `full` and `full-knn`). The softmax only compares the intents with each
other: a query unlike anything in the training data still gets a confident winner, so the probability
alone separates out-of-scope text poorly. The acceptance confidence (what the threshold is applied to)
is therefore a product of two calibrated probabilities:

    confidence = P(top intent right) * P(in scope | novelty)

The first is the calibrated softmax above. The second is a one-feature logistic model of the query's
similarity to the training data: the mean cosine (over the encoders) of its `novelty_k` nearest in-scope
training examples, fitted on out-of-fold similarities (each training example against the in-scope
examples of the other folds: the values a new query gets) with in-scope = 1, out-of-scope = 0, at the
training data's own class prior, so that the product stays a probability (taking the two as
independent). A single slope and intercept generalize from a hundred OOS examples, where a model weighing
several features against each other on them would not; and "is this prediction right?" on in-scope data
alone cannot learn the weight: in-scope errors are confusions between neighbouring intents, not novel text.
The intent ranking (probabilities) is the classifier's alone: only the acceptance changes. Without
out-of-scope examples in the training data there is nothing to fit P(in scope | novelty) on, and the
confidence is the probability.

The same out-of-fold predictions choose the fallback threshold. Without out-of-scope examples it
maximizes correct-and-accepted + wrong-and-rejected. With them (`oos` / `out_of_scope`) it maximizes
in-scope accuracy + OOS recall among the thresholds that lose at most `IN_SCOPE_BUDGET` (1 point) of
out-of-fold in-scope accuracy against no threshold. Why the budget: the plain sum weighs one OOS
example as much as in-scope_count / oos_count in-scope ones (150 with CLINC150's 15,000 + 100), so
with few OOS examples it buys a point of OOS recall, measured on a hundred examples, with many points
of in-scope accuracy (CLINC150: threshold 0.95, in-scope 88%). The budget is set on the in-scope side,
measured on thousands of examples, so it holds on new data; and where OOS examples are plentiful (the
product's data) the sum's own optimum lies inside it and the rule is the plain sum. One point is a
product choice: a customer with a real request is sent to the fallback at most about once in a
hundred times more than without a threshold. Everything is seeded.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ...platform.text import normalize, segment
from .data import NLUDataError, is_oos
from .encoders import get_encoder

ENGINE_VERSION = "3"


@dataclass(frozen=True)
class EngineConfig:
    encoders: tuple[str, ...] = ("e5", "use")
    char_ngrams: tuple[int, int] = (1, 4)
    word_ngrams: tuple[int, int] = (1, 2)
    encoder_weight: float = 1.5
    C: float = 0.5
    knn: int = 0  # neighbours of the kNN vote averaged with the SVM (0: SVM alone); needs an encoder
    novelty_k: int = 0  # neighbours of the novelty signal in the acceptance confidence (0: off); needs an encoder
    calibration_folds: int = 5
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("encoders", "char_ngrams", "word_ngrams"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


NOVELTY_K = 5
"""Neighbours averaged into the novelty signal: a few, so that one near-duplicate does not decide."""

PRESETS: dict[str, EngineConfig] = {
    "full": EngineConfig(encoders=("e5", "use"), novelty_k=NOVELTY_K),
    "full-knn": EngineConfig(encoders=("e5", "use"), knn=20, novelty_k=NOVELTY_K),
    # Without novelty: on the product's data (its own preset, `use`), with hundreds of out-of-scope examples
    # for the SVM's own class, the novelty signal traded held-out in-scope accuracy for OOS recall at a loss
    # in overall accuracy (96.9% vs 97.1%); see docs/adr/0005-assistant.md.
    "e5": EngineConfig(encoders=("e5",)),
    "use": EngineConfig(encoders=("use",)),
    "tfidf": EngineConfig(encoders=()),
}


def preset(name: str) -> EngineConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r} (known: {', '.join(PRESETS)})") from None


class WordNgrams:
    """Analyzer for the word block: n-grams of `platform.text.segment` words (picklable by reference)."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2)) -> None:
        self.ngram_range = tuple(ngram_range)

    def __call__(self, text: str) -> list[str]:
        tokens = segment(text)
        low, high = self.ngram_range
        grams = list(tokens) if low <= 1 else []
        for n in range(max(2, low), high + 1):
            grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return grams


def embed(texts: list[str], encoders: tuple[str, ...]) -> np.ndarray | None:
    """The concatenated sentence embeddings of the texts (None when the config has no encoder)."""
    if not encoders:
        return None
    return np.hstack([get_encoder(name).encode(list(texts)) for name in encoders]).astype(np.float32)


KNN_TAU = 0.02
"""Sharpness of the kNN vote: a neighbour's weight is exp(cosine / KNN_TAU), so 0.02 lets a neighbour
0.05 closer count e^2.5 (about 12) times more: the nearest phrasings decide, the rest break ties."""


def knn_vote(query: np.ndarray, memory: np.ndarray, memory_labels: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    """Class probabilities from the k most similar remembered examples (rows L2-normalized: dot = cosine)."""
    k = min(k, len(memory))
    sims = _similarities(query, memory)
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, nearest, axis=1)
    weights = np.exp((top - top.max(axis=1, keepdims=True)) / KNN_TAU)
    votes = np.zeros((len(query), n_classes))
    rows = np.repeat(np.arange(len(query)), k)
    np.add.at(votes, (rows, memory_labels[nearest].ravel()), weights.ravel())
    return votes / votes.sum(axis=1, keepdims=True)


_blas_controller: Any = None


def _similarities(query: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """query @ memory.T; for a few queries (a parse) on one BLAS thread: waking OpenBLAS's threads for a
    matrix-vector product costs little here but leaves them spinning against the e5 encoder's OpenMP threads
    on the next call (parse p50 x2 with the full preset)."""
    global _blas_controller
    if len(query) > 8:
        return query @ memory.T
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    with _blas_controller.limit(limits=1, user_api="blas"):
        return query @ memory.T


def knn_similarity(query: np.ndarray, memory: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """The mean cosine of each query row to its k most similar memory rows (rows L2-normalized)."""
    out = np.empty(len(query), dtype=np.float64)
    if len(memory) == 0:
        out.fill(-1.0)
        return out
    k = min(k, len(memory))
    for start in range(0, len(query), block):  # bounded memory on large batches
        sims = _similarities(query[start:start + block], memory)
        top = np.partition(sims, len(memory) - k, axis=1)[:, len(memory) - k:]
        out[start:start + block] = top.mean(axis=1)
    return out


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass
class Calibration:
    temperature: float = 1.0
    svm_temperature: float = 1.0  # with a kNN member: the SVM's own, before the two are averaged
    # P(in scope | novelty) = sigmoid(novelty_slope * similarity + novelty_intercept); slope 0: not used
    novelty_slope: float = 0.0
    novelty_intercept: float = 0.0
    threshold: float = 0.0
    folds: int = 0
    rule: str = "none"
    oof: dict[str, float] = field(default_factory=dict)


class IntentModel:
    """Vectorizers + linear SVM + calibration. Fit with `fit`, score with `predict_proba`."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.labels: list[str] = []
        self.calibration = Calibration()
        self._char: Any = None
        self._word: Any = None
        self._svm: Any = None
        self._memory: np.ndarray | None = None  # L2-normalized dense rows of the training texts (kNN)
        self._memory_labels: np.ndarray | None = None
        self._novelty_memory: np.ndarray | None = None  # the same rows, in-scope training examples only
        self.train_seconds = 0.0
        self.n_examples = 0

    # -------------------------------------------------------------- features

    def _vectorizers(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        char = TfidfVectorizer(analyzer="char_wb", ngram_range=self.config.char_ngrams, preprocessor=normalize,
                               sublinear_tf=True, min_df=1, lowercase=False, dtype=np.float32)
        word = TfidfVectorizer(analyzer=WordNgrams(self.config.word_ngrams), sublinear_tf=True, min_df=1,
                               lowercase=False, dtype=np.float32)
        return char, word

    def _features(self, texts: list[str], dense: np.ndarray | None, fit: bool = False) -> Any:
        import scipy.sparse as sp

        if fit:
            self._char, self._word = self._vectorizers()
            blocks = [self._char.fit_transform(texts)]
            # The word block needs at least one token; fall back to chars alone on token-less data.
            try:
                blocks.append(self._word.fit_transform(texts))
            except ValueError:
                self._word = None
        else:
            blocks = [self._char.transform(texts)]
            if self._word is not None:
                blocks.append(self._word.transform(texts))
        if self.config.encoders:
            blocks.append(sp.csr_matrix(self._dense_blocks(texts, dense) * self.config.encoder_weight))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _dense_blocks(self, texts: list[str], dense: np.ndarray | None) -> np.ndarray:
        """Each encoder's block L2-normalized: no encoder outweighs another by the scale of its vectors."""
        if dense is None:
            dense = embed(texts, self.config.encoders)
        assert dense is not None
        n = len(self.config.encoders)
        width = dense.shape[1] // n
        parts = []
        for i in range(n):
            part = dense[:, i * width:(i + 1) * width]
            norms = np.linalg.norm(part, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            parts.append(part / norms)
        return np.hstack(parts).astype(np.float32)

    # -------------------------------------------------------------- training

    def _new_svm(self) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.config.C, random_state=self.config.seed, max_iter=5000)

    def _fit_svm(self, X: Any, y: np.ndarray) -> Any:
        from sklearn.exceptions import ConvergenceWarning

        svm = self._new_svm()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(X, y)
        return svm

    @staticmethod
    def _decision(svm: Any, X: Any, n_classes: int) -> np.ndarray:
        scores = svm.decision_function(X)
        if n_classes == 2:  # binary LinearSVC gives one column: the score of classes_[1]
            scores = np.column_stack([-scores, scores]) / 2
        return np.asarray(scores, dtype=np.float64)

    def fit(self, texts: list[str], labels: list[str], dense: np.ndarray | None = None,
            calibrate: bool = True) -> IntentModel:
        """Learn from texts and labels (dense: precomputed `embed(texts, config.encoders)`)."""
        from sklearn.model_selection import StratifiedKFold

        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise NLUDataError(f"need at least two intents to train, got {classes}")
        started = time.perf_counter()
        texts = list(texts)
        y = np.array(labels)
        if self.config.encoders and dense is None:
            dense = embed(texts, self.config.encoders)
        self.labels = classes
        self.n_examples = len(texts)

        self.calibration = Calibration()
        folds = min(self.config.calibration_folds, min(Counter(labels).values()))
        if calibrate and folds >= 2:
            svm_oof = np.full((len(texts), len(classes)), -1e3)
            knn_oof = np.zeros((len(texts), len(classes))) if self._uses_knn() else None
            # Novelty needs out-of-scope examples to calibrate against (and in-scope ones to compare with).
            has_oos = [is_oos(label) for label in classes]
            novelty_oof = np.zeros(len(texts)) if self._uses_novelty() and any(has_oos) and not all(has_oos) else None
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.config.seed)
            for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
                fold_model = IntentModel(self.config)
                fold_model._fit_plain([texts[i] for i in train_idx], y[train_idx],
                                      None if dense is None else dense[train_idx])
                fold_texts = [texts[i] for i in test_idx]
                fold_dense = None if dense is None else dense[test_idx]
                svm_scores, knn_probs = fold_model._member_scores(fold_texts, fold_dense)
                if novelty_oof is not None:
                    novelty_oof[test_idx] = fold_model._novelty(fold_texts, fold_dense)
                # A class absent from a training fold cannot happen with stratification and folds <= min count.
                columns = [classes.index(c) for c in fold_model.labels]
                svm_oof[np.ix_(test_idx, columns)] = svm_scores
                if knn_oof is not None and knn_probs is not None:
                    knn_oof[np.ix_(test_idx, columns)] = knn_probs
            svm_temperature = 1.0
            if knn_oof is not None:
                svm_temperature = fit_temperature(svm_oof, np.searchsorted(classes, y))
            self.calibration = calibrate_scores(_combine(svm_oof, knn_oof, svm_temperature), y, classes,
                                                novelty_oof)
            self.calibration.svm_temperature = svm_temperature
            self.calibration.folds = folds
        self._fit_plain(texts, y, dense)
        if not self.calibration.novelty_slope:
            self._novelty_memory = None  # no novelty calibration: the confidence is the probability
        self.train_seconds = time.perf_counter() - started
        return self

    def _uses_knn(self) -> bool:
        return self.config.knn > 0 and bool(self.config.encoders)

    def _uses_novelty(self) -> bool:
        return self.config.novelty_k > 0 and bool(self.config.encoders)

    def _fit_plain(self, texts: list[str], y: np.ndarray, dense: np.ndarray | None) -> None:
        self.labels = sorted(set(y.tolist()))
        if self.config.encoders and dense is None:
            dense = embed(texts, self.config.encoders)
        X = self._features(texts, dense, fit=True)
        self._svm = self._fit_svm(X, y)
        rows = self._knn_rows(texts, dense) if self._uses_knn() or self._uses_novelty() else None
        if self._uses_knn():
            self._memory = rows
            self._memory_labels = np.searchsorted(self.labels, y)
        if self._uses_novelty():
            assert rows is not None
            self._novelty_memory = np.ascontiguousarray(rows[~np.array([is_oos(label) for label in y.tolist()],
                                                                       dtype=bool)])

    def _knn_rows(self, texts: list[str], dense: np.ndarray | None) -> np.ndarray:
        """Dense rows scaled to unit norm, so that a dot product is the mean cosine over the encoders."""
        return self._dense_blocks(texts, dense) / np.float32(np.sqrt(len(self.config.encoders)))

    def _novelty(self, texts: list[str], dense: np.ndarray | None) -> np.ndarray:
        """Mean cosine of each text to its `novelty_k` nearest in-scope training examples."""
        assert self._novelty_memory is not None
        return knn_similarity(self._knn_rows(texts, dense), self._novelty_memory, self.config.novelty_k)

    def _member_scores(self, texts: list[str], dense: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The SVM's decision values and, with a kNN member, its vote (None without)."""
        if self.config.encoders and dense is None:
            dense = embed(texts, self.config.encoders)
        svm_scores = self._decision(self._svm, self._features(texts, dense), len(self.labels))
        if not self._uses_knn() or self._memory is None:
            return svm_scores, None
        votes = knn_vote(self._knn_rows(texts, dense), self._memory, self._memory_labels, len(self.labels),
                         self.config.knn)
        return svm_scores, votes

    # -------------------------------------------------------------- prediction

    def predict_proba(self, texts: list[str], dense: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in `self.labels` order."""
        return self.score(texts, dense)[0]

    def score(self, texts: list[str], dense: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The calibrated probabilities (as `predict_proba`) and the acceptance confidence of each text's
        top intent: the value the threshold applies to (the top probability, times P(in scope | novelty)
        when the model has a novelty calibration)."""
        from sklearn import config_context

        texts = list(texts)
        if self.config.encoders and dense is None:
            dense = embed(texts, self.config.encoders)
        # Our own, already valid inputs: skip scikit-learn's per-call checks (about 1 ms of a 7 ms parse).
        with config_context(assume_finite=True, skip_parameter_validation=True):
            svm_scores, knn_probs = self._member_scores(texts, dense)
        scores = _combine(svm_scores, knn_probs, self.calibration.svm_temperature)
        probs = _softmax(scores, self.calibration.temperature)
        confidence = probs.max(axis=1) if len(texts) else np.zeros(0)
        if self.calibration.novelty_slope and self._novelty_memory is not None and len(texts):
            confidence = confidence * in_scope_probability(self._novelty(texts, dense), self.calibration)
        return probs, confidence

    def predict(self, texts: list[str], dense: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(label, acceptance confidence) per text; label is "nlu_fallback" below the threshold."""
        from .types import FALLBACK_INTENT

        probs, confidence = self.score(texts, dense)
        top = probs.argmax(axis=1)
        return [(self.labels[index] if c >= self.calibration.threshold else FALLBACK_INTENT, float(c))
                for index, c in zip(top, confidence, strict=True)]

    def summary(self) -> dict[str, Any]:
        return {"engine_version": ENGINE_VERSION, "config": self.config.as_dict(), "labels": self.labels,
                "calibration": asdict(self.calibration), "n_examples": self.n_examples,
                "train_seconds": round(self.train_seconds, 2)}

    def with_config(self, **changes: Any) -> IntentModel:
        return IntentModel(replace(self.config, **changes))

    def __repr__(self) -> str:
        return f"IntentModel({json.dumps(self.config.as_dict())}, labels={len(self.labels)})"


# ------------------------------------------------------------------ calibration


def _combine(svm_scores: np.ndarray, knn_probs: np.ndarray | None, svm_temperature: float) -> np.ndarray:
    """The scores to calibrate: the SVM's decision values alone, or with a kNN member the log of the mean of
    the SVM's probabilities (at its own fitted temperature) and the kNN vote."""
    if knn_probs is None:
        return svm_scores
    return np.log((_softmax(svm_scores, svm_temperature) + knn_probs) / 2 + 1e-12)


def _nll(scores: np.ndarray, gold: np.ndarray, temperature: float) -> float:
    probs = _softmax(scores, temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, None))))


def fit_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    """The softmax temperature that minimizes the negative log-likelihood of the gold labels."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(lambda log_t: _nll(scores, gold, float(np.exp(log_t))), bounds=(-6.0, 3.0),
                             method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


IN_SCOPE_BUDGET = 0.01
"""How much out-of-fold in-scope accuracy the fallback threshold may cost (a fraction: 0.01 = 1 point)."""


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, gold_oos: np.ndarray,
                     predicted_oos: np.ndarray, budget: float = IN_SCOPE_BUDGET) -> tuple[float, str, dict[str, float]]:
    """The fallback threshold from held-out (confidence, correct) pairs, see the module doc."""
    grid = np.round(np.arange(0.0, 1.0001, 0.005), 4)
    accept = confidence[None, :] >= grid[:, None]
    if gold_oos.any() and (~gold_oos).any():
        rule = f"max in-scope accuracy + OOS recall, losing at most {100 * budget:g} point(s) of in-scope accuracy"
        in_acc = (accept & correct[None, :])[:, ~gold_oos].mean(axis=1)
        oos_rec = (~accept | predicted_oos[None, :])[:, gold_oos].mean(axis=1)
        objective = np.where(in_acc >= in_acc[0] - budget - 1e-12, in_acc + oos_rec, -np.inf)
    else:
        rule = "max correct-accepted + wrong-rejected"
        in_acc = (accept & correct[None, :]).mean(axis=1)
        oos_rec = np.zeros(len(grid))
        objective = ((accept & correct[None, :]).sum(axis=1) + (~accept & ~correct[None, :]).sum(axis=1)).astype(float)
    best = np.flatnonzero(objective >= objective.max() - 1e-12)
    # The middle of the best plateau, not its edge: steadier on new data.
    pick = int(best[len(best) // 2])
    stats = {"in_scope_accuracy": float(in_acc[pick]), "oos_recall": float(oos_rec[pick]),
             "accuracy_no_threshold": float(correct.mean()),
             "fallback_rate": float(1 - accept[pick].mean())}
    return float(grid[pick]), rule, stats


def in_scope_probability(similarity: np.ndarray, calibration: Calibration) -> np.ndarray:
    """P(in scope | novelty similarity) under the calibration's logistic model."""
    z = calibration.novelty_slope * np.asarray(similarity, dtype=np.float64) + calibration.novelty_intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def fit_novelty(similarity: np.ndarray, in_scope: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of P(in scope | similarity): a logistic regression on held-out similarities, at
    the data's own class prior (not rebalanced: the product with the intent probability stays a probability)."""
    from sklearn.linear_model import LogisticRegression

    mean, std = float(similarity.mean()), float(similarity.std()) or 1.0
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit(((similarity - mean) / std)[:, None], in_scope)
    slope = float(fitted.coef_[0, 0]) / std
    return slope, float(fitted.intercept_[0]) - slope * mean


def calibrate_scores(scores: np.ndarray, y: np.ndarray, classes: list[str],
                     novelty: np.ndarray | None = None) -> Calibration:
    """Temperature, novelty model and threshold from out-of-fold scores (and novelty similarities)."""
    gold = np.array([classes.index(label) for label in y])
    temperature = fit_temperature(scores, gold)
    probs = _softmax(scores, temperature)
    top = probs.argmax(axis=1)
    confidence = probs[np.arange(len(top)), top]
    correct = top == gold
    gold_oos = np.array([is_oos(label) for label in y])
    predicted_oos = np.array([is_oos(classes[i]) for i in top])
    calibration = Calibration(temperature=temperature)
    stats: dict[str, float] = {}
    if novelty is not None and gold_oos.any() and (~gold_oos).any():
        calibration.novelty_slope, calibration.novelty_intercept = fit_novelty(novelty, ~gold_oos)
        if calibration.novelty_slope > 0:  # more similar, more likely in scope; anything else is noise
            stats["ece_probability"] = expected_calibration_error(confidence, correct)
            confidence = confidence * in_scope_probability(novelty, calibration)
        else:
            calibration.novelty_slope = calibration.novelty_intercept = 0.0
    threshold, rule, threshold_stats = choose_threshold(confidence, correct, gold_oos, predicted_oos)
    stats.update(threshold_stats)
    stats["ece"] = expected_calibration_error(confidence, correct)
    calibration.threshold, calibration.rule = threshold, rule
    calibration.oof = {k: round(v, 4) for k, v in stats.items()}
    return calibration


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)
