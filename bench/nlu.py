"""NLU benchmark: latency of `NLU.parse` (what /parse and the assistant call per customer message).

What it measures. The product model (`load_product_nlu`: the preset `product.PRODUCT_ENGINE`, USE
embeddings + char/word TF-IDF into a calibrated linear SVM unless GOPAYCARE_NLU_ENGINE says otherwise,
trained on src/gopaycare/assistant/data/train, loaded from the cache when its fingerprint matches) and,
in the same run, a baseline: the TF-IDF-only engine trained on the same data.
Each model parses --queries messages, one call at a time (as a chat turn does), cycling through the
held-out test phrasings (data/test, zh-CN, en and id mixed) after --warmup calls; every call is the
whole `parse`: language detection, entity extraction, encoders, features, SVM, calibration, ranking.
p50 / p95 / p99 of the wall time are printed, and the product's p95 over the baseline's (the ratio).
The aim is p95 < 20 ms on the 2-core machine. Loops are bounded by --queries and --max-seconds.

    .venv/bin/python bench/nlu.py [--queries 500] [--warmup 20] [--cache DIR] [--max-seconds 120] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from gopaycare.assistant.nlu import NLU, load_examples, load_product_nlu
from gopaycare.assistant.nlu.engine import PRESETS
from gopaycare.assistant.nlu.product import TEST_DIR, TRAIN_DIR, default_cache_dir


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(nlu: NLU, texts: list[str], queries: int, warmup: int, max_seconds: float) -> dict[str, float]:
    for i in range(warmup):
        nlu.parse(texts[i % len(texts)])
    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    for i in range(queries):
        text = texts[i % len(texts)]
        started = time.perf_counter()
        nlu.parse(text)
        times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > deadline:
            break
    return {"calls": len(times), "p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95),
            "p99_ms": _percentile(times, 99), "mean_ms": statistics.fmean(times), "max_ms": max(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=None, help="product model cache (default: the product's)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per model, whatever --queries says")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    started = time.perf_counter()
    product = load_product_nlu(args.cache or default_cache_dir())
    product_ready = time.perf_counter() - started
    started = time.perf_counter()
    baseline = NLU.train(load_examples(TRAIN_DIR), None, config=PRESETS["tfidf"])
    baseline_train = time.perf_counter() - started
    source = TEST_DIR if TEST_DIR.exists() else TRAIN_DIR
    texts = [e.text for e in load_examples(source)]
    # Interleave the languages (the files are read one after another).
    texts = [texts[i] for i in sorted(range(len(texts)), key=lambda i: (i * 7919) % len(texts))]

    results = {
        "product": {"engine": "+".join(product.model.config.encoders) + "+tfidf",
                    "ready_seconds": round(product_ready, 2),
                    **measure(product, texts, args.queries, args.warmup, args.max_seconds)},
        "baseline": {"engine": "tfidf", "train_seconds": round(baseline_train, 2),
                     **measure(baseline, texts, args.queries, args.warmup, args.max_seconds)},
    }
    results["ratio_p95"] = results["product"]["p95_ms"] / results["baseline"]["p95_ms"]
    results["ratio_p50"] = results["product"]["p50_ms"] / results["baseline"]["p50_ms"]
    results["texts"] = f"{len(texts)} phrasings from {source}"

    print(f"NLU.parse latency, {results['texts']}, one call at a time")
    for name in ("product", "baseline"):
        r = results[name]
        print(f"  {name:9} {r['engine']:16} calls {r['calls']:5}  p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms"
              f"  p99 {r['p99_ms']:6.2f} ms  mean {r['mean_ms']:6.2f} ms")
    print(f"  product / baseline: p50 x{results['ratio_p50']:.2f}, p95 x{results['ratio_p95']:.2f}"
          f"   (aim: product p95 < 20 ms: {'met' if results['product']['p95_ms'] < 20 else 'NOT met'})")
    print(f"  product model ready in {product_ready:.1f} s (cache or training); baseline trained in "
          f"{baseline_train:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
