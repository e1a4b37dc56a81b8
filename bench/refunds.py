"""Refund throughput: approved refunds executed per second on PostgreSQL, next to plain merchant payments
in the same run, and their ratio (aim >= 0.5).

What it measures. Phase 1 runs `ReferenceWallet.pay_merchant` (the QR payment, the hottest money path)
from N threads for a fixed time: the baseline. Phase 2 turns those very payments into approved refund
requests (written in one INSERT, as the policy or a checker would leave them) and runs
`RefundRequests.execution.run` on them from the same N threads for the same time: each one claims the
request, pays it back through `WalletBackend.refund` under its own idempotency key, claws back its
cashback in proportion when `--cashback` is given, records the timeline and the audit, and queues the
customer's notice (a job, as in production). The ratio refunds/payments is the figure to track: both run
against the same server, in the same process, on the same machine, one after the other.

After the load `gopaycare ledger verify` (with the refunds' own checks) must pass, and every executed
request must be `refunded` exactly once. The database is dropped at the end unless --keep.

    .venv/bin/python bench/refunds.py [--seconds 5] [--clients 4] [--customers 200] [--cashback] \
        [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] \
        [--redis-url redis://127.0.0.1:6379/14] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import (
    DEFAULT_ADMIN_URL,
    LoadResult,
    WorkerOutcome,
    checkpoint,
    database_url,
    drop_database,
    recreate_database,
    run_together,
)
from sqlalchemy import create_engine, func, insert, select

from gopaycare.container import build
from gopaycare.migrations import upgrade
from gopaycare.platform.settings import load_settings
from gopaycare.refunds.models import RefundRequest
from gopaycare.wallet.verify import verify

BENCH_DB = "gopaycare_bench_refunds"
AIM = 0.5
MAX_OPERATIONS = 200_000  # a bound on each phase besides its time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--merchants", type=int, default=20)
    parser.add_argument("--cashback", action="store_true", help="every payment earned cashback (clawed back)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="'' for the embedded queue")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not (0 < args.seconds <= 120 and 1 <= args.clients <= 64 and 1 <= args.customers <= 100_000):
        parser.error("seconds 0-120, clients 1-64, customers 1-100000")

    admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    recreate_database(admin, BENCH_DB)
    url = database_url(args.pg_admin_url, BENCH_DB)
    upgrade(url)
    scratch = Path(tempfile.mkdtemp(prefix="bench-refunds-"))
    # The customer's notices are jobs, queued in Redis as in scaled mode (a worker sends them; none runs
    # here, and the queue is emptied at the end). Without --redis-url: an embedded SQLite queue file.
    settings = load_settings(database_url=url, password_hash_profile="fast", log_json=False, log_level="WARNING",
                             jobs_path=str(scratch / "jobs.db"), secret_key="bench-refunds",
                             redis_url=args.redis_url or None, jobs_queue="bench-refunds")
    svc = build(settings, senders={})
    try:
        svc.wallet.bootstrap()
        customers = [svc.identity.register(phone=f"+6281{i:09d}", name=f"Bench {i}", email=None,
                                           id_number=f"31710{i:011d}", password="Bench-pass1", pin="258147",
                                           language="id", tier="plus").id for i in range(args.customers)]
        for c in customers:
            svc.wallet.topup(c, 15_000_000, "bank_transfer", f"setup-{c}")
        merchants = [svc.wallet.add_merchant(f"Bench Merchant {i}", "food") for i in range(args.merchants)]
        print(f"{args.customers} Plus wallets, {args.merchants} merchants; {args.clients} clients, "
              f"{args.seconds:g} s per phase, cashback {'on' if args.cashback else 'off'}", flush=True)

        # Phase 1: plain merchant payments (the baseline)
        paid: list[tuple[int, str, int]] = []  # (customer, reference, amount); list.append is atomic
        keys = itertools.count()

        def pay(index: int) -> WorkerOutcome:
            outcome, rng = WorkerOutcome(), random.Random(index)
            deadline = time.perf_counter() + args.seconds
            while time.perf_counter() < deadline and len(paid) < MAX_OPERATIONS:
                customer, amount = customers[rng.randrange(len(customers))], rng.randrange(1_000, 20_000)
                began = time.perf_counter()
                done = svc.wallet.pay_merchant(customer, merchants[rng.randrange(len(merchants))], amount,
                                               f"bench-pay-{next(keys)}")
                if done.status == "succeeded":
                    outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
                    paid.append((customer, done.reference, amount))
                else:
                    outcome.failures[done.failure_reason or "failed"] += 1
            outcome.finished = time.perf_counter()
            return outcome

        checkpoint(admin)
        payments = run_together(args.clients, pay)
        report("merchant payments", payments)

        # Phase 2: the same payments, refunded through the refund service
        if args.cashback:
            for customer, reference, amount in paid:
                svc.wallet.credit_cashback(customer, max(amount // 10, 1), f"bench-cb-{reference}", campaign="bench",
                                           original_reference=reference)
        now = svc.clock.now()
        with svc.db.transaction() as s:
            s.execute(insert(RefundRequest), [
                dict(customer_id=customer, transaction_reference=reference, amount=amount, reason="bench",
                     reason_code="duplicate_charge", evidence=[], channel="api", status="approved", version=1,
                     decided_by="policy:small_amount", idempotency_key=f"bench-refund-{reference}",
                     created_at=now, updated_at=now) for customer, reference, amount in paid])
            ids = list(s.scalars(select(RefundRequest.id).order_by(RefundRequest.id)))
        queue = iter(ids)
        lock = threading.Lock()

        def refund(index: int) -> WorkerOutcome:
            outcome = WorkerOutcome()
            deadline = time.perf_counter() + args.seconds
            while time.perf_counter() < deadline:
                with lock:
                    request_id = next(queue, None)
                if request_id is None:
                    break
                began = time.perf_counter()
                done = svc.refunds.execution.run(request_id)
                if done.status == "refunded":
                    outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
                else:
                    outcome.failures[done.status] += 1
            outcome.finished = time.perf_counter()
            return outcome

        checkpoint(admin)
        refunds = run_together(args.clients, refund)
        report("refunds executed", refunds)
        if refunds.done >= len(ids):
            print("  (every payment was refunded before the time was up: raise --seconds or --customers)")

        ratio = refunds.per_second / payments.per_second if payments.per_second else 0.0
        print(f"ratio refunds/payments: {ratio:.2f} (aim >= {AIM})", flush=True)
        ledger = verify(svc.db)
        with svc.db.read() as s:
            refunded = s.scalar(select(func.count()).select_from(RefundRequest).where(
                RefundRequest.status == "refunded"))
        print(f"ledger verify: {'ok' if ledger.ok else ledger.violations}; requests refunded: {refunded} "
              f"(executed {refunds.done})")
        return 0 if ledger.ok and refunded == refunds.done else 1
    finally:
        svc.huey.flush()
        svc.close()
        if not args.keep:
            drop_database(admin, BENCH_DB)
        admin.dispose()


def report(name: str, result: LoadResult) -> None:
    failures = f", failures {result.failures}" if result.failures else ""
    print(f"{name}: {result.done} in {result.seconds:.2f} s = {result.per_second:.1f}/s "
          f"(p50 {result.percentile(50):.1f} ms, p95 {result.percentile(95):.1f} ms){failures}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
