"""Measuring an intent model: on a test set, or by K-fold cross-validation on a training set.

An `nlu_fallback` answer counts as "out of scope": right for an out-of-scope example, wrong for an
in-scope one. With out-of-scope examples in the data the report adds CLINC150's figures (Larson et
al. 2019): in-scope accuracy (an in-scope example rejected or misrouted is wrong) and OOS recall.

The fallback threshold is the one each model stores (chosen on its own training data); a `threshold`
argument overrides it for one measurement, so an operator can study the in-scope / OOS trade-off
without retraining. The report says which threshold was used and, when overridden, the stored one.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from .data import OOS_LABEL, Example, NLUDataError, is_oos
from .engine import EngineConfig, IntentModel, embed
from .types import FALLBACK_INTENT


def _effective(label: str) -> str:
    return OOS_LABEL if label == FALLBACK_INTENT or is_oos(label) else label


def score(gold: list[str], predicted: list[str], sources: list[str] | None = None,
          threshold: float | None = None, top1: list[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-intent figures, confusions (and OOS figures) of predictions."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    gold = [_effective(g) for g in gold]
    fallback = [p == FALLBACK_INTENT for p in predicted]
    pred = [_effective(p) for p in predicted]
    labels = sorted(set(gold))
    g, p = np.array(gold), np.array(pred)
    correct = g == p
    precision, recall, f1, support = precision_recall_fscore_support(g, p, labels=labels, zero_division=0)
    report: dict[str, Any] = {
        "examples": len(gold),
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(g, p, labels=labels, average="macro", zero_division=0)),
        "fallback_rate": float(np.mean(fallback)),
        "per_intent": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                               "support": int(support[i])} for i, label in enumerate(labels)},
        "confusions": [{"gold": a, "predicted": b, "count": n}
                       for (a, b), n in Counter((a, b) for a, b in zip(gold, pred, strict=True) if a != b)
                       .most_common(15)],
    }
    if top1 is not None:  # the best-ranked intent, threshold ignored (the figure papers report)
        report["top1_accuracy"] = float(np.mean([_effective(t) == a for t, a in zip(top1, gold, strict=True)]))
    if threshold is not None:
        report["threshold"] = threshold
    oos = g == OOS_LABEL
    if oos.any():
        report["in_scope_accuracy"] = float(correct[~oos].mean()) if (~oos).any() else 0.0
        report["oos_recall"] = float((p[oos] == OOS_LABEL).mean())
        report["oos_precision"] = float((g[p == OOS_LABEL] == OOS_LABEL).mean()) if (p == OOS_LABEL).any() else 0.0
    if sources and len(set(sources)) > 1:
        by: dict[str, list[bool]] = defaultdict(list)
        for source, ok in zip(sources, correct, strict=True):
            by[source].append(bool(ok))
        report["by_source"] = {s: {"accuracy": float(np.mean(v)), "examples": len(v)} for s, v in sorted(by.items())}
    return report


def _predict(model: IntentModel, texts: list[str], dense: np.ndarray | None,
             threshold: float | None = None) -> tuple[list[str], list[str]]:
    probs, confidence = model.score(texts, dense)  # the threshold applies to the acceptance confidence
    best = probs.argmax(axis=1)
    top1 = [model.labels[i] for i in best]
    if threshold is None:
        threshold = model.calibration.threshold
    predicted = [label if confidence[row] >= threshold else FALLBACK_INTENT
                 for row, label in enumerate(top1)]
    return predicted, top1


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise NLUDataError(f"the threshold is a probability: 0 <= threshold <= 1, got {threshold}")


def evaluate(model: IntentModel, examples: list[Example], threshold: float | None = None) -> dict[str, Any]:
    """Score the model on examples, at its stored threshold or at `threshold` when given."""
    _check_threshold(threshold)
    started = time.perf_counter()
    predicted, top1 = _predict(model, [e.text for e in examples], None, threshold)
    used = model.calibration.threshold if threshold is None else threshold
    report = score([e.intent for e in examples], predicted, [e.source for e in examples], threshold=used, top1=top1)
    if threshold is not None:
        report["threshold_override"] = True
        report["stored_threshold"] = model.calibration.threshold
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def cross_validate(examples: list[Example], config: EngineConfig, k: int = 5,
                   threshold: float | None = None) -> dict[str, Any]:
    """Stratified K-fold: each fold trains a whole model (with its own calibration) on the rest; `threshold`
    replaces every fold's stored threshold when given."""
    from sklearn.model_selection import StratifiedKFold

    _check_threshold(threshold)
    if k < 2:
        raise NLUDataError("--cv needs K >= 2")
    counts = Counter(e.intent for e in examples)
    if min(counts.values()) < k:
        rare = ", ".join(f"{label} ({n})" for label, n in counts.items() if n < k)
        raise NLUDataError(f"{k}-fold cross-validation needs at least {k} examples per intent: {rare}")
    started = time.perf_counter()
    texts = [e.text for e in examples]
    y = np.array([e.intent for e in examples])
    dense = embed(texts, config.encoders)  # once: encoders are not trained, so folds can share them
    embed_seconds = time.perf_counter() - started
    predicted = np.empty(len(texts), dtype=object)
    top1 = np.empty(len(texts), dtype=object)
    fold_accuracy, thresholds, train_seconds = [], [], []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        model = IntentModel(config).fit([texts[i] for i in train_idx], y[train_idx].tolist(),
                                        None if dense is None else dense[train_idx])
        answers, best = _predict(model, [texts[i] for i in test_idx], None if dense is None else dense[test_idx],
                                 threshold)
        predicted[test_idx] = answers
        top1[test_idx] = best
        fold_accuracy.append(float(np.mean([_effective(a) == y[i] for a, i in zip(answers, test_idx, strict=True)])))
        thresholds.append(model.calibration.threshold)
        train_seconds.append(model.train_seconds)
    report = score(y.tolist(), predicted.tolist(), [e.source for e in examples], top1=top1.tolist(),
                   threshold=threshold)
    if threshold is not None:
        report["threshold_override"] = True
    report["cv"] = {"folds": k, "fold_accuracy": fold_accuracy, "accuracy_std": float(np.std(fold_accuracy)),
                    "thresholds": thresholds, "embed_seconds": round(embed_seconds, 1),
                    "fold_train_seconds": [round(s, 1) for s in train_seconds]}
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_report(report: dict[str, Any], title: str = "") -> str:
    lines = [title] if title else []
    head = f"examples {report['examples']}  accuracy {_pct(report['accuracy'])}  macro-F1 {_pct(report['macro_f1'])}"
    lines.append(head)
    if "in_scope_accuracy" in report:
        lines.append(f"in-scope accuracy {_pct(report['in_scope_accuracy'])}  OOS recall {_pct(report['oos_recall'])}"
                     f"  OOS precision {_pct(report['oos_precision'])}")
    extra = f"fallback rate {_pct(report['fallback_rate'])}"
    if "top1_accuracy" in report:
        extra += f"  top-1 accuracy without threshold {_pct(report['top1_accuracy'])}"
    if "threshold" in report:
        extra += f"  threshold {report['threshold']:.3f}"
        if report.get("threshold_override"):
            stored = report.get("stored_threshold")
            extra += " (--threshold" + (f"; stored {stored:.3f})" if stored is not None else ")")
    lines.append(extra)
    if "cv" in report:
        cv = report["cv"]
        lines.append(f"{cv['folds']}-fold CV: fold accuracy " + " ".join(_pct(a) for a in cv["fold_accuracy"])
                     + f" (std {_pct(cv['accuracy_std'])}); thresholds "
                     + " ".join(f"{t:.3f}" for t in cv["thresholds"]))
        lines.append(f"embedding {cv['embed_seconds']} s; training per fold (with calibration) "
                     + " ".join(f"{s} s" for s in cv["fold_train_seconds"]))
    if "by_source" in report:
        lines.append("by source: " + "  ".join(f"{s} {_pct(v['accuracy'])} ({v['examples']})"
                                               for s, v in report["by_source"].items()))
    lines.append("")
    lines.append(f"{'intent':40} {'prec':>7} {'recall':>7} {'f1':>7} {'n':>6}")
    for label, m in sorted(report["per_intent"].items(), key=lambda kv: kv[1]["f1"]):
        lines.append(f"{label[:40]:40} {_pct(m['precision']):>7} {_pct(m['recall']):>7} {_pct(m['f1']):>7} "
                     f"{m['support']:>6}")
    if report["confusions"]:
        lines.append("")
        lines.append("most confused (gold -> predicted: count)")
        for c in report["confusions"]:
            lines.append(f"  {c['gold']} -> {c['predicted']}: {c['count']}")
    return "\n".join(lines)
