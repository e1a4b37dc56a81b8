"""Payment callbacks applied per second, next to direct wallet completions in the same run.

What it measures. A provider's callback (`POST /webhooks/payments/midtrans`) does more than the
internal call that settles a pending payment (`WalletBackend.complete`): it verifies the SHA-512
signature, stores the event under its unique (provider, event id), claims the payment (a unique
`settles_reference`), calls `complete`, and records the outcome. Both runs settle fresh pending
provider payments of the same size from the same number of threads on the same database; the
ratio callbacks/direct prices that bookkeeping (the aim: >= 0.3, three commits beside complete's one).
The cashback hand-off is a no-op here (in production it enqueues a job), so both runs settle only.

How. A fresh database gets the migrations, the platform accounts, one merchant and Plus wallets
opened and topped up through the wallet; then 2 x --payments pending online payments
(`pay_merchant(via_provider=True)`), half for each run. Signed Midtrans bodies are built before the
clock starts (signing is the provider's work; verifying is ours). Each run stops after its payments
or --seconds, whichever comes first. Afterwards every payment must be settled exactly once and
`ledger verify` (the wallet's and the disputes' checks) must pass; then the same callbacks are
delivered again and must apply nothing (the duplicates' rate is printed too).

    .venv/bin/python bench/payment_callbacks.py [--payments 1000] [--clients 4] [--seconds 60] \
        [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--sqlite] [--keep]
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import time
from pathlib import Path

from common import (
    DEFAULT_ADMIN_URL,
    LoadResult,
    WorkerOutcome,
    database_url,
    drop_database,
    recreate_database,
    run_together,
)
from sqlalchemy import create_engine, text

from gopaycare.callbacks.providers import midtrans_event, midtrans_signature
from gopaycare.container import build
from gopaycare.disputes.verify import CHECKS as DISPUTE_CHECKS
from gopaycare.migrations import upgrade
from gopaycare.platform.settings import load_settings
from gopaycare.wallet.verify import verify

DB_NAME = "gopaycare_bench_callbacks"
SERVER_KEY = "SB-Mid-server-bench-key"
AMOUNT = 25_000
PER_WALLET = 40  # payments per wallet: 40 x 25.000 = 1.000.000, within the Plus daily limit


def notification(reference: str) -> bytes:
    gross = f"{AMOUNT}.00"
    return (f'{{"transaction_status":"settlement","transaction_id":"tx-{reference}","status_code":"200",'
            f'"order_id":"{reference}","gross_amount":"{gross}","currency":"IDR","fraud_status":"accept",'
            f'"signature_key":"{midtrans_signature(reference, "200", gross, SERVER_KEY)}"}}').encode()


def drive(clients: int, items: list, step, deadline_seconds: float) -> LoadResult:
    """`clients` threads take items from one queue and run `step(item)` until it is empty or time is up."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    for item in items:
        work.put(item)
    stop_at = time.perf_counter() + deadline_seconds

    def worker(_: int) -> WorkerOutcome:
        outcome = WorkerOutcome()
        while time.perf_counter() < stop_at:
            try:
                item = work.get_nowait()
            except queue.Empty:
                break
            began = time.perf_counter()
            try:
                step(item)
                outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
            except Exception as exc:  # counted and shown, the run goes on
                outcome.failures[type(exc).__name__] += 1
        outcome.finished = time.perf_counter()
        return outcome

    return run_together(clients, worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=1000, help="payments settled by each run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60, help="the most each run may last")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.payments <= 100_000 or not 1 <= args.clients <= 64:
        parser.error("--payments 1..100000, --clients 1..64")

    tmp = Path(tempfile.mkdtemp(prefix="gopaycare-bench-"))
    admin = None
    if args.sqlite:
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
        recreate_database(admin, DB_NAME)
        url = database_url(args.pg_admin_url, DB_NAME)
    upgrade(url)
    svc = build(load_settings(database_url=url, jobs_path=str(tmp / "jobs.db"), log_json=False,
                              midtrans_server_key=SERVER_KEY), immediate_jobs=True, senders={})
    try:
        svc.wallet.bootstrap()
        svc.payment_callbacks.on_paid = None  # settle only (production enqueues a job here)
        merchant = svc.wallet.add_merchant("Bench Online Shop", "shopping")
        total = 2 * args.payments
        wallets = -(-total // PER_WALLET)
        print(f"setting up: {wallets} wallets, {total} pending payments on {'SQLite' if args.sqlite else 'PostgreSQL'}")
        references = []
        for w in range(wallets):
            customer = 1_000_000 + w
            svc.wallet.open_wallet(customer, "plus")
            svc.wallet.topup(customer, AMOUNT * PER_WALLET, "bank_transfer", f"bench-topup-{w}")
            for i in range(min(PER_WALLET, total - w * PER_WALLET)):
                references.append(svc.wallet.pay_merchant(customer, merchant, AMOUNT, f"bench-pay-{w}-{i}",
                                                          channel="online", via_provider=True).reference)
        direct_refs, callback_refs = references[0::2], references[1::2]
        bodies = [notification(r) for r in callback_refs]

        direct = drive(args.clients, direct_refs, lambda ref: svc.wallet.complete(ref, succeeded=True), args.seconds)
        callbacks = drive(args.clients, bodies,
                          lambda raw: svc.payment_callbacks.take(midtrans_event(raw, SERVER_KEY)), args.seconds)
        again = drive(args.clients, bodies[:callbacks.done],
                      lambda raw: svc.payment_callbacks.take(midtrans_event(raw, SERVER_KEY)), args.seconds)

        with svc.db.read() as s:
            applied = s.execute(text("SELECT COUNT(*), SUM(deliveries) FROM payment_callbacks "
                                     "WHERE result = 'applied'")).one()
            settled = s.execute(text("SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'payment' "
                                     "AND status = 'succeeded'")).scalar_one()
        report = verify(svc.db, extra=DISPUTE_CHECKS)
        print(f"direct completions   {direct.per_second:8.1f}/s  p50 {direct.percentile(50):6.1f} ms  "
              f"p95 {direct.percentile(95):6.1f} ms  ({direct.done} in {direct.seconds:.1f} s, "
              f"failures {direct.failures or 0})")
        print(f"callbacks applied    {callbacks.per_second:8.1f}/s  p50 {callbacks.percentile(50):6.1f} ms  "
              f"p95 {callbacks.percentile(95):6.1f} ms  ({callbacks.done} in {callbacks.seconds:.1f} s, "
              f"failures {callbacks.failures or 0})")
        print(f"duplicates answered  {again.per_second:8.1f}/s  ({again.done} redelivered, nothing applied again)")
        ratio = callbacks.per_second / direct.per_second if direct.per_second else float("nan")
        print(f"ratio callbacks/direct = {ratio:.2f}  (clients {args.clients})")
        print(f"applied callbacks {applied[0]} (deliveries {applied[1]}), payments settled {settled}, "
              f"ledger verify {'ok' if report.ok else 'FAILED ' + str(list(report.violations))}")
        ok = report.ok and applied[0] == callbacks.done and settled == direct.done + callbacks.done
        return 0 if ok else 1
    finally:
        svc.close()
        if admin is not None:
            if not args.keep:
                drop_database(admin, DB_NAME)
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
