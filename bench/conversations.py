"""Conversation benchmark: the conversation suite (tests/conversations/*.yaml) played against the demo
through the real API, with the time of every customer turn, alone and under concurrent load.

What it measures. The demo story is seeded once into a SQLite file in a temporary folder; each
conversation plays on a fresh copy of it, with the product NLU model (`load_product_nlu`, from --cache),
through the assistant endpoints (`POST /api/v1/assistant/messages` for a WhatsApp customer,
`POST /api/v1/me/assistant` for the app and web visitors) on FastAPI's in-process client, over one
database engine kept for the whole run (as a serving process keeps one). A turn's time is the whole
request: the message stored on the desk, understood, the dialogue layer, the flow's account reads and
changes, the replies posted and the handover. Jobs (deliveries) are queued as a served turn queues
them, not run in the request (`--inline-jobs` runs them inside, as the tests do).

Two phases, each bounded by --max-seconds:
- alone: the conversations one after the other, nothing else running in the process;
- loaded: the same, while --load other threads (default 2) play conversations of their own on their
  own copies, the way a server answers several customers at once (they share the interpreter and the
  cores with the measured turns).
The baseline, measured in the same run and under the same conditions: the single-sentence NLU parse
(`NLU.parse` of each turn's text, one call at a time). The ratio turn p95 / parse p95 is what the
turn costs around understanding; unlike the milliseconds, it hardly moves with how busy the machine
is (this bench often runs on a shared, loaded machine). The aim is turn p95 < 150 ms alone.

    .venv/bin/python bench/conversations.py [--cache DIR] [--only WORD] [--max-seconds 300] [--load 2]
                                            [--inline-jobs] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conversation_runner import Stage, format_rates, load, pass_rates  # noqa: E402

from gopaycare.assistant.nlu import default_cache_dir, load_product_nlu  # noqa: E402

AIM_MS = 150.0


def _figures(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"calls": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else float("nan")}


def _parses(nlu: Any, texts: list[str], deadline: float) -> list[float]:
    times: list[float] = []
    for text in texts:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        nlu.parse(text)
        times.append(time.perf_counter() - started)
    return times


def _play(stage: Stage, conversations: list[Any], deadline: float, stop: threading.Event | None = None,
          ) -> tuple[list[float], list[tuple[str, bool]], list[str]]:
    turns: list[float] = []
    outcomes: list[tuple[str, bool]] = []
    failed: list[str] = []
    for conversation in conversations:
        if time.monotonic() > deadline or (stop is not None and stop.is_set()):
            break
        result = stage.play(conversation)
        turns += result.latencies
        outcomes.append((conversation.lang, result.passed))
        if not result.passed:
            failed.append(f"{conversation.id}: {result.failures[0]}")
    return turns, outcomes, failed


def _keep_playing(stage: Stage, conversations: list[Any], start: int, stop: threading.Event) -> None:
    """A load thread: the conversations from a start of its own, round and round until told to stop."""
    order = conversations[start:] + conversations[:start]
    while not stop.is_set():
        _play(stage, order, float("inf"), stop)


def _phase(name: str, stage: Stage, nlu: Any, conversations: list[Any], texts: list[str], seconds: float
           ) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    turns, outcomes, failed = _play(stage, conversations, deadline)
    # The baseline in the same conditions (the load, when there is one, is still running).
    parses = _parses(nlu, texts, time.monotonic() + max(10.0, seconds / 10))
    turn, parse = _figures(turns), _figures(parses)
    return {"phase": name, "turn": turn, "parse": parse, "ratio_p95": turn["p95_ms"] / parse["p95_ms"],
            "played": len(outcomes), "skipped": len(conversations) - len(outcomes), "outcomes": outcomes,
            "failed": failed}


def _print(result: dict[str, Any]) -> None:
    turn, parse = result["turn"], result["parse"]
    print(f"{result['phase']}: {result['played']} conversations played, {result['skipped']} skipped (time bound)")
    for name, r in (("turn", turn), ("nlu parse", parse)):
        print(f"  {name:9} calls {r['calls']:5}  p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms"
              f"  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms")
    print(f"  turn / nlu parse (baseline): p50 x{turn['p50_ms'] / parse['p50_ms']:.1f}  p95 x{result['ratio_p95']:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=None, help="the product model's cache (default: GOPAYCARE_NLU_CACHE)")
    parser.add_argument("--only", default="", help="play only conversations whose id contains this")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound of each phase")
    parser.add_argument("--load", type=int, default=2, help="threads playing conversations in the loaded phase "
                                                           "(0: no loaded phase)")
    parser.add_argument("--inline-jobs", action="store_true", help="run jobs inside the request (as the tests)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    nlu = load_product_nlu(args.cache or default_cache_dir())
    conversations = [c for c in load(ROOT / "tests" / "conversations") if args.only in c.id]
    texts = [t.user for c in conversations for t in c.turns]
    _parses(nlu, texts[:20], float("inf"))  # warm-up
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-conversations-") as workdir:
        stage = Stage(Path(workdir) / "measured", nlu, immediate_jobs=args.inline_jobs)
        stage.play(conversations[0])  # warms the engine and the model's caches, as a served process is warm
        results.append(_phase("alone", stage, nlu, conversations, texts, args.max_seconds))
        if args.load > 0:
            stop = threading.Event()
            lanes = [Stage(Path(workdir) / f"load-{i}", nlu, immediate_jobs=args.inline_jobs)
                     for i in range(args.load)]
            threads = [threading.Thread(target=_keep_playing, args=(lane, conversations, i * 7, stop), daemon=True)
                       for i, lane in enumerate(lanes, 1)]
            for thread in threads:
                thread.start()
            try:
                results.append(_phase(f"loaded ({args.load} other conversations at once)", stage, nlu,
                                      conversations, texts, args.max_seconds))
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
                for lane in lanes:
                    lane.close()
        stage.close()

    print(f"jobs {'inline' if args.inline_jobs else 'queued'}; aim: turn p95 < {AIM_MS:.0f} ms alone")
    for result in results:
        _print(result)
    alone = results[0]
    print(f"  aim {'met' if alone['turn']['p95_ms'] < AIM_MS else 'NOT met'} (alone p95 "
          f"{alone['turn']['p95_ms']:.1f} ms)")
    print("  " + format_rates(pass_rates(alone["outcomes"])))
    for line in alone["failed"][:20]:
        print(f"  FAILED {line}")
    if args.json:
        for result in results:
            result["pass_rate"] = {k: {"passed": v[0], "played": v[1]} for k, v in pass_rates(result.pop("outcomes")
                                                                                          ).items()}
        Path(args.json).write_text(json.dumps({"jobs": "inline" if args.inline_jobs else "queued",
                                               "phases": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
