"""NLU benchmark: latency of `NLU.parse` (what /parse and the assistant call per customer message).

What it measures. The product model (`load_product_nlu`: the preset `product.PRODUCT_ENGINE`, USE
embeddings + char/word TF-IDF into a calibrated linear SVM unless GOPAYCARE_NLU_ENGINE says otherwise,
trained on src/gopaycare/assistant/data/train, loaded from the cache when its fingerprint matches) and,
in the same run, a baseline: the TF-IDF-only engine trained on the same data.
Each model parses --queries messages, one call at a time (as a chat turn does), cycling through the
held-out test phrasings (data/test, zh-CN, en and id mixed) after --warmup calls; every call is the
whole `parse`: language detection, entity extraction, encoders, features, SVM, calibration, ranking.
p50 / p95 / p99 of the wall time are printed, and the product's p95 over the baseline's (the ratio).

Then the same through HTTP, as a channel integration calls it: a real `gopaycare serve` process on
loopback (SQLite in a temporary folder, the same model cache), an agent token with `channel.ingest`,
and one keep-alive client posting `POST /api/v1/assistant/parse` one request at a time; the baseline
in that run is `GET /healthz` on the same server and connection (framework + loopback + auth cost
without the NLU). The aim is /parse p95 < 20 ms on the 2-core machine. Every loop is bounded by
--queries and --max-seconds; `--no-http` skips the server.

    .venv/bin/python bench/nlu.py [--queries 500] [--warmup 20] [--cache DIR] [--max-seconds 120] [--no-http]
                                  [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from common import free_port, percentile

from gopaycare.assistant.nlu import NLU, load_examples, load_product_nlu
from gopaycare.assistant.nlu.engine import PRESETS
from gopaycare.assistant.nlu.product import TEST_DIR, TRAIN_DIR, default_cache_dir


def timed(call: Callable[[int], object], queries: int, warmup: int, max_seconds: float) -> dict[str, float]:
    """Latency figures of `call(i)` made one at a time, bounded by count and time."""
    for i in range(warmup):
        call(i)
    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    for i in range(queries):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > deadline:
            break
    return {"calls": len(times), "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "p99_ms": percentile(times, 99), "mean_ms": statistics.fmean(times), "max_ms": max(times)}


def measure(nlu: NLU, texts: list[str], queries: int, warmup: int, max_seconds: float) -> dict[str, float]:
    return timed(lambda i: nlu.parse(texts[i % len(texts)]), queries, warmup, max_seconds)


def _cli(env: dict[str, str], *args: str) -> str:
    gopaycare = Path(sys.executable).with_name("gopaycare")
    return subprocess.run([str(gopaycare), *args], env=env, check=True, capture_output=True, text=True).stdout


def measure_http(texts: list[str], cache: Path, queries: int, warmup: int, max_seconds: float) -> dict[str, object]:
    """/parse and /healthz through a real server process on loopback (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="gopaycare-bench-") as tmp:
        env = {**os.environ, "GOPAYCARE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
               "GOPAYCARE_JOBS_PATH": f"{tmp}/jobs.db", "GOPAYCARE_MODEL_DIR": str(cache),
               "GOPAYCARE_LOG_LEVEL": "WARNING"}
        env.pop("GOPAYCARE_REDIS_URL", None)
        _cli(env, "migrate")
        _cli(env, "agents", "create", "bench@gopay.test", "--role", "admin")
        token = _cli(env, "tokens", "create", "bench@gopay.test").strip()
        port = free_port()
        gopaycare = Path(sys.executable).with_name("gopaycare")
        server = subprocess.Popen([str(gopaycare), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                              timeout=120) as client:
                _wait_until_ready(client, server)

                def parse(i: int) -> None:
                    client.post("/api/v1/assistant/parse", json={"text": texts[i % len(texts)]}).raise_for_status()

                def health(_: int) -> None:
                    client.get("/healthz").raise_for_status()

                return {"parse": timed(parse, queries, warmup, max_seconds),
                        "healthz": timed(health, queries, warmup, max_seconds)}
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_ready(client: httpx.Client, server: subprocess.Popen[bytes], limit: float = 300.0) -> None:
    """Until the server answers and its model is loaded (the first /parse waits for it)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gopaycare serve exited with {server.returncode}")
        try:
            if client.post("/api/v1/assistant/parse", json={"text": "hi"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer /parse in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=None, help="product model cache (default: the product's)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per model, whatever --queries says")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    cache = args.cache or default_cache_dir()
    started = time.perf_counter()
    product = load_product_nlu(cache)
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
    if not args.no_http:
        http = measure_http(texts, cache, args.queries, args.warmup, args.max_seconds)
        results["http"] = http
        p, h = http["parse"], http["healthz"]
        print("POST /api/v1/assistant/parse through `gopaycare serve` on loopback, one request at a time")
        for name, r in (("/parse", p), ("/healthz", h)):
            print(f"  {name:9} calls {r['calls']:5}  p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms"
                  f"  p99 {r['p99_ms']:6.2f} ms  mean {r['mean_ms']:6.2f} ms")
        print(f"  /parse over /healthz: p95 x{p['p95_ms'] / h['p95_ms']:.2f}   (aim: /parse p95 < 20 ms: "
              f"{'met' if p['p95_ms'] < 20 else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
