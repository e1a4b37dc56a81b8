"""Conversation benchmark: the conversation suite (tests/conversations/*.yaml) played against the demo
through the real API, with the time of every customer turn.

What it measures. The demo story is seeded once into a SQLite file in a temporary folder; each
conversation plays on its own copy, with the product NLU model (`load_product_nlu`, from --cache), through
the assistant endpoints (`POST /api/v1/assistant/messages` for a WhatsApp customer, `POST /api/v1/me/assistant`
for the app and web visitors) on FastAPI's in-process client. A turn's time is the whole request: the
message stored on the desk, understood, the dialogue layer, the flow's account reads and changes, the
replies posted and the handover. Jobs (deliveries) are queued as a served turn queues them, not run in
the request (`--inline-jobs` runs them inside, as the tests do). p50 / p95 / p99 of the turn times are
printed with the pass rate per language, and, measured in the same run as the baseline, the
single-sentence NLU (`NLU.parse` of each turn's text, one call at a time): the turn's p95 over the
parse's p95 is the cost of everything around understanding. The aim is turn p95 < 150 ms.
Bounded by --max-seconds (conversations not yet played then are skipped and counted).

    .venv/bin/python bench/conversations.py [--cache DIR] [--only WORD] [--max-seconds 600] [--inline-jobs]
                                            [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conversation_runner import Stage, format_rates, load, pass_rates  # noqa: E402

from gopaycare.assistant.nlu import default_cache_dir, load_product_nlu  # noqa: E402


def _figures(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"calls": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else float("nan")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=None, help="the product model's cache (default: GOPAYCARE_MODEL_DIR)")
    parser.add_argument("--only", default="", help="play only conversations whose id contains this")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--inline-jobs", action="store_true", help="run jobs inside the request (as the tests)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    nlu = load_product_nlu(args.cache or default_cache_dir())
    conversations = [c for c in load(ROOT / "tests" / "conversations") if args.only in c.id]
    deadline = time.monotonic() + args.max_seconds
    turns: list[float] = []
    outcomes: list[tuple[str, bool]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-conversations-") as workdir:
        stage = Stage(workdir, nlu, immediate_jobs=args.inline_jobs)
        for conversation in conversations:
            if time.monotonic() > deadline:
                break
            result = stage.play(conversation)
            first = result.latencies[:1]  # the first turn of the first conversation warms the caches
            turns += result.latencies[1:] if not turns and first else result.latencies
            outcomes.append((conversation.lang, result.passed))
            if not result.passed:
                failed.append(f"{conversation.id}: {result.failures[0]}")

    texts = [t.user for c in conversations for t in c.turns]
    for text in texts[:20]:
        nlu.parse(text)  # warm-up
    parses: list[float] = []
    for text in texts:
        started = time.perf_counter()
        nlu.parse(text)
        parses.append(time.perf_counter() - started)

    results = {"turn": _figures(turns), "parse": _figures(parses), "played": len(outcomes),
               "skipped": len(conversations) - len(outcomes),
               "pass_rate": {k: {"passed": v[0], "played": v[1]} for k, v in pass_rates(outcomes).items()},
               "jobs": "inline" if args.inline_jobs else "queued"}
    turn, parse = results["turn"], results["parse"]
    results["ratio_p95"] = turn["p95_ms"] / parse["p95_ms"]
    print(f"conversations: {len(outcomes)} played, {results['skipped']} skipped (time bound), jobs {results['jobs']}")
    for name, r in (("turn", turn), ("nlu parse", parse)):
        print(f"  {name:9} calls {r['calls']:5}  p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms"
              f"  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms")
    print(f"  turn / nlu parse: p95 x{results['ratio_p95']:.2f}   (aim: turn p95 < 150 ms: "
          f"{'met' if turn['p95_ms'] < 150 else 'NOT met'})")
    print("  " + format_rates(pass_rates(outcomes)))
    for line in failed[:20]:
        print(f"  FAILED {line}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
