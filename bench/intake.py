"""Intake benchmark: customers' messages through a provider's webhook, end to end, per second.

What it measures. Telegram Updates, signed with the secret token, posted by --clients threads to
real `gopaycare serve` processes on PostgreSQL for --seconds: first from new customers (a new
Telegram user each time: contact, conversation, ticket, SLA clocks, routing...), then follow-ups
(the same users again). Each is verified, stored once (channel_events), handed to the assistant by
a job (stored on the desk, understood, answered) and its reply queued and sent to a fake Telegram
Bot API on loopback. Reported per run: webhooks accepted per second (what the provider sees), and
messages answered per second end to end (accepted → the reply sent), counted from the database
until every accepted message is answered or --drain-seconds pass.

With --processes N > 1 the servers share Redis for jobs and the hub, and N `gopaycare worker`
processes take the jobs; with 1, the server runs its jobs itself (the embedded default).

The issue's aim is 430 new tickets per second (10x the peer's 43/s); this prints where we are.
Bounded: every loop stops after --seconds (+ --drain-seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any

import httpx
from common import (
    DEFAULT_ADMIN_URL,
    database_url,
    drop_database,
    percentile,
    positive_counts,
    recreate_database,
    start_gopaycare,
    stop_all,
)
from sqlalchemy import create_engine, text

from gopaycare.migrations import upgrade

DB_NAME = "gopaycare_bench_intake"
SECRET = "bench-secret"
BOT_TOKEN = "1:bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
TEXTS = ["my payment failed, why?", "saldo saya hilang setelah top up", "我的退款什么时候到账", "cashback belum masuk"]


def fake_telegram() -> tuple[ThreadingHTTPServer, str]:
    """sendMessage answering ok, as fast as it can (the provider is not what is measured)."""
    sent = count(1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps({"ok": True, "result": {"message_id": next(sent)}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def update(update_id: int, user: int, text_: str) -> bytes:
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_765_000_000, "text": text_,
        "from": {"id": user, "is_bot": False, "first_name": "Bench"},
        "chat": {"id": user, "type": "private"}}}).encode()


def _answered(engine: Any) -> tuple[int, int]:
    """(events taken, replies sent) so far."""
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT COUNT(*) FROM channel_events WHERE status = 'done'")).scalar_one()
        sent = conn.execute(text("SELECT COUNT(*) FROM outbox_messages WHERE channel = 'telegram' "
                                 "AND status = 'sent'")).scalar_one()
    return taken, sent


def run_load(urls: list[str], clients: int, seconds: float, drain_seconds: float, engine: Any, users: list[int],
             ids: Any) -> dict[str, Any]:
    latencies: list[float] = []
    accepted = [0]
    lock = threading.Lock()
    taken0, sent0 = _answered(engine)
    started = time.monotonic()
    until = started + seconds

    def client(index: int) -> None:
        with httpx.Client(timeout=60) as http:
            n = 0
            while time.monotonic() < until:
                update_id = next(ids)
                user = users[update_id % len(users)] if users else 8_000_000_000 + update_id
                body = update(update_id, user, TEXTS[update_id % len(TEXTS)])
                t = time.perf_counter()
                answer = http.post(urls[(index + n) % len(urls)], content=body,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"})
                n += 1
                if answer.status_code == 200:
                    with lock:
                        latencies.append((time.perf_counter() - t) * 1000)
                        accepted[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accept_seconds = time.monotonic() - started
    deadline = time.monotonic() + drain_seconds
    while True:
        taken, sent = _answered(engine)
        if taken - taken0 >= accepted[0] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    total = time.monotonic() - started
    return {"accepted": accepted[0], "accepted_per_s": round(accepted[0] / accept_seconds, 1),
            "webhook_p50_ms": round(percentile(latencies, 50), 1),
            "webhook_p95_ms": round(percentile(latencies, 95), 1),
            "answered": taken - taken0, "replies_sent": sent - sent0,
            "answered_per_s": round((taken - taken0) / total, 1), "seconds_to_answer_all": round(total, 1)}


def measure(processes: int, clients: int, seconds: float, drain: float, admin_url: str,
            model_dir: str) -> dict[str, Any]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    recreate_database(admin, DB_NAME)
    url = database_url(admin_url, DB_NAME)
    telegram, api_base = fake_telegram()
    started: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory(prefix="gopaycare-intake-") as tmp:
            env = {**os.environ, "GOPAYCARE_DATABASE_URL": url, "GOPAYCARE_JOBS_PATH": f"{tmp}/jobs.db",
                   "GOPAYCARE_MODEL_DIR": model_dir, "GOPAYCARE_LOG_LEVEL": "WARNING",
                   "GOPAYCARE_TELEGRAM_BOT_TOKEN": BOT_TOKEN, "GOPAYCARE_TELEGRAM_SECRET_TOKEN": SECRET,
                   "GOPAYCARE_TELEGRAM_API_BASE": api_base}
            ports, processes_started = start_gopaycare(env, processes, redis_url=REDIS_URL, workers=4)
            started += processes_started
            urls = [f"http://127.0.0.1:{port}/webhooks/telegram" for port in ports]
            engine = create_engine(url)
            _warm_up(urls, started, engine)
            ids = count(1_000)
            new = run_load(urls, clients, seconds, drain, engine, [], ids)
            with engine.connect() as conn:
                users = [int(v) for v in conn.execute(text(
                    "SELECT value FROM contact_identities WHERE kind = 'telegram' LIMIT 500")).scalars()]
            follow_ups = run_load(urls, clients, seconds, drain, engine, users, ids)
            engine.dispose()
            return {"processes": processes, "clients": clients, "new_customers": new, "follow_ups": follow_ups}
    finally:
        stop_all(started)
        telegram.shutdown()
        drop_database(admin, DB_NAME)
        admin.dispose()


def _warm_up(urls: list[str], servers: list[subprocess.Popen[bytes]], engine: Any) -> None:
    """Every server up and its model loaded: one message each, answered."""
    deadline = time.monotonic() + 300
    for i, url in enumerate(urls):
        while True:
            if any(p.poll() is not None for p in servers):
                raise RuntimeError("a server exited on start")
            try:
                if httpx.post(url, content=update(i + 1, 7_000_000_000 + i, "halo"), timeout=60,
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the servers did not start")
            time.sleep(0.3)
    while _answered(engine)[0] < len(urls) and time.monotonic() < deadline:
        time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=positive_counts, default=[1, 2], help="serve processes per run")
    parser.add_argument("--clients", type=int, default=8, help="threads posting webhooks")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--drain-seconds", type=float, default=120, help="how long to wait for the answers")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--model-dir", default=os.environ.get("GOPAYCARE_MODEL_DIR", "./gopaycare-models"))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    results = [measure(p, args.clients, args.seconds, args.drain_seconds, args.pg_admin_url, args.model_dir)
               for p in args.processes]
    print(f"Telegram webhooks -> stored -> assistant -> reply sent, {args.clients} clients, {args.seconds:g} s")
    print(f"{'processes':>9s} {'run':14s} {'accepted/s':>10s} {'p95 ms':>7s} {'answered/s':>10s} "
          f"{'answered':>8s} {'of':>5s} {'drain s':>7s}")
    for r in results:
        for name in ("new_customers", "follow_ups"):
            row = r[name]
            print(f"{r['processes']:9d} {name:14s} {row['accepted_per_s']:10.1f} {row['webhook_p95_ms']:7.1f} "
                  f"{row['answered_per_s']:10.1f} {row['answered']:8d} {row['accepted']:5d} "
                  f"{row['seconds_to_answer_all']:7.1f}")
    print("aim: >= 430 new tickets per second end to end (10x the peer's 43/s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
