"""Ledger throughput benchmark: merchant payments per second against pgbench on the same server.

What it measures. `ReferenceWallet.pay_merchant` is the hottest money-moving path (one QR
payment: a conditional UPDATE on the wallet row, a transaction row, a journal row). This script
runs it from N Python threads for a fixed time and reports succeeded payments per second and
p50/p95 latency, then runs pgbench's built-in TPC-B-like script (five statements per
transaction too: three UPDATEs, a SELECT and an INSERT) with the same number of clients on the
same PostgreSQL server.

Why pgbench. Absolute numbers depend on the machine; the ratio to pgbench does much less, so
it is the figure to track. pgbench's client is a thin C loop, so the ratio prices our whole
client side (Python, SQLAlchemy, the service code). The aim is ours/pgbench >= 0.5: that side
may cost at most as much as the database work itself.

How. A fresh database `gopaycare_bench` gets the project's migrations, the platform accounts
(`bootstrap`), merchants (through `add_merchant`) and Plus-tier wallets. Opening 20,000 wallets
one by one through `open_wallet` + `topup` takes ~5 ms each (~100 s), so wallets are written
with COPY instead, exactly as a top-up would leave them: a succeeded `topup` transaction, one
journal transfer platform:float -> wallet, the balance cached on the wallet row and counted in
this month's incoming total. Each wallet gets the Plus balance cap, and every payment is at
most MAX_AMOUNT, so with the real default limits no payment can hit the balance or the daily
outgoing limit: payments take wallets in turn from a shuffled list, and the run stops before
any wallet could be asked for more than it holds. After the load `gopaycare.wallet.verify`
checks the ledger's invariants.

pgbench runs in its own database `gopaycare_pgbench`, initialised at scale = the largest
client count, so TPC-B's one-row-per-branch UPDATE does not serialise its clients.

Both databases are dropped at the end unless --keep.

    .venv/bin/python bench/ledger.py [--seconds 10] [--clients 8,32] [--wallets 20000] \
        [--merchants 200] [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] \
        [--json results.json] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import (
    DEFAULT_ADMIN_URL,
    LoadResult,
    WorkerOutcome,
    checkpoint,
    copy_rows,
    database_url,
    drop_database,
    positive_counts,
    recreate_database,
    run_together,
)
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, Engine, make_url

from gopaycare.container import Services, build
from gopaycare.migrations import upgrade
from gopaycare.platform.db import Database
from gopaycare.platform.settings import load_settings
from gopaycare.wallet.models import LedgerAccount, LedgerTransfer, WalletTransaction
from gopaycare.wallet.rules import Periods
from gopaycare.wallet.service import ReferenceWallet
from gopaycare.wallet.verify import verify

BENCH_DB = "gopaycare_bench"
PGBENCH_DB = "gopaycare_pgbench"
MIN_AMOUNT, MAX_AMOUNT = 1_000, 20_000  # IDR, a snack to a ride
AIM = 0.5
TPS_LINE = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
LATENCY_LINE = re.compile(r"latency average = ([0-9.]+) ms")


# ---------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per client count (pgbench -T)")
    parser.add_argument("--clients", type=positive_counts, default=[8, 32],
                        help="comma-separated client (thread) counts, e.g. 8,32")
    parser.add_argument("--wallets", type=int, default=20_000, help="wallets to seed")
    parser.add_argument("--merchants", type=int, default=200, help="merchants to create")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL,
                        help="a superuser URL on the server to benchmark (any existing database)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    parser.add_argument("--seed", type=int, default=7, help="random seed for wallet order and amounts")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.wallets < 1 or args.merchants < 1:
        parser.error("--seconds, --wallets and --merchants must be positive")
    return args




# ---------------------------------------------------------------- databases










# ---------------------------------------------------------------- the application side


@dataclass
class Fixture:
    services: Services
    customer_ids: list[int]
    merchant_ids: list[int]
    balance: int
    payments_per_wallet: int  # how many MAX_AMOUNT payments each wallet can make within its limits


def prepare_app(url: str, wallets: int, merchants: int) -> Fixture:
    upgrade(url)
    settings = load_settings(database_url=url, password_hash_profile="fast")
    services = build(settings, immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    plus = settings.limits.plus
    balance = min(plus.balance_cap, plus.monthly_incoming)
    merchant_ids = [services.wallet.add_merchant(f"Bench merchant {i}", "food") for i in range(merchants)]
    customer_ids = seed_wallets(services, wallets, balance)
    return Fixture(services, customer_ids, merchant_ids, balance,
                   payments_per_wallet=min(balance, plus.daily_outgoing) // MAX_AMOUNT)


def seed_wallets(services: Services, count: int, balance: int) -> list[int]:
    """Write `count` Plus wallets, each topped up with `balance`, as `open_wallet` + `topup` would."""
    settings = services.settings
    now = services.clock.now()
    month = Periods.at(now, settings.tz).month
    day_tag = now.astimezone(settings.tz).strftime("%y%m%d")
    float_id = services.wallet.platform_account("float")
    accounts, txns, transfers = [], [], []
    with services.db.engine.begin() as conn:
        next_id = {t.name: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1
                   for t in (LedgerAccount.__table__, WalletTransaction.__table__, LedgerTransfer.__table__)}
        first_customer = (conn.execute(select(func.max(LedgerAccount.customer_id))).scalar() or 0) + 1
        customer_ids = list(range(first_customer, first_customer + count))
        for n, customer_id in enumerate(customer_ids):
            account_id = next_id["ledger_accounts"] + n
            txn_id = next_id["wallet_transactions"] + n
            accounts.append(dict(
                id=account_id, kind="wallet", code=f"wallet:{customer_id}", currency=settings.currency,
                customer_id=customer_id, tier="plus", balance=balance, locked=False, frozen=False,
                out_day=None, out_day_total=0, in_month=month, in_month_total=balance, created_at=now))
            txns.append(dict(
                id=txn_id, reference="GP" + day_tag + secrets.token_hex(5).upper(),
                idempotency_key=f"bench-topup-{customer_id}", request_hash="bench-seed", kind="topup",
                status="succeeded", amount=balance, currency=settings.currency, account_id=account_id,
                method="bank_transfer", refunded_amount=0, created_at=now, updated_at=now))
            transfers.append(dict(
                id=next_id["ledger_transfers"] + n, transaction_id=txn_id, debit_account_id=float_id,
                credit_account_id=account_id, amount=balance, currency=settings.currency, created_at=now))
        for table, rows in (("ledger_accounts", accounts), ("wallet_transactions", txns),
                            ("ledger_transfers", transfers)):
            columns = list(rows[0])
            copy_rows(conn, table, columns, [[row[c] for c in columns] for row in rows])
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT MAX(id) FROM {table}))"))
    with services.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return customer_ids




# ---------------------------------------------------------------- the load


class PaymentPlan:
    """Hands out (customer, merchant, amount, key): wallets in turn from a shuffled list, so no
    wallet is asked for more than `per_wallet` payments over the whole run, and the loop ends there."""

    def __init__(self, customers: list[int], merchants: list[int], per_wallet: int, seed: int) -> None:
        rng = random.Random(seed)
        self.customers = rng.sample(customers, len(customers))
        self.merchants = merchants
        self.budget = len(customers) * per_wallet
        self._next = itertools.count()  # next() on itertools.count is atomic under the GIL
        self._run = secrets.token_hex(4)
        self.exhausted = False

    def take(self, rng: random.Random) -> tuple[int, int, int, str] | None:
        n = next(self._next)
        if n >= self.budget:
            self.exhausted = True
            return None
        return (self.customers[n % len(self.customers)], rng.choice(self.merchants),
                rng.randint(MIN_AMOUNT, MAX_AMOUNT), f"bench-{self._run}-{n}")


def _pay_until(wallet: ReferenceWallet, plan: PaymentPlan, rng: random.Random, seconds: float) -> WorkerOutcome:
    """One client: pay merchants one after another for `seconds` (or until the plan runs out)."""
    outcome = WorkerOutcome()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and (payment := plan.take(rng)) is not None:
        customer, merchant, amount, key = payment
        began = time.perf_counter()
        try:
            txn = wallet.pay_merchant(customer, merchant, amount, idempotency_key=key)
        except Exception as exc:  # counted and reported, never hidden
            outcome.failures[type(exc).__name__] += 1
            continue
        if txn.status == "succeeded":
            outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
        else:
            outcome.failures[f"{txn.status}:{txn.failure_reason}"] += 1
    outcome.finished = time.perf_counter()
    return outcome


def run_load(wallet: ReferenceWallet, plan: PaymentPlan, clients: int, seconds: float, seed: int) -> LoadResult:
    """`clients` threads start together and pay merchants for `seconds`."""
    return run_together(clients, lambda index: _pay_until(wallet, plan, random.Random(seed * 1000 + index), seconds))


def load_database(url: str, clients: int) -> Database:
    """The app's engine settings, with a pool that holds one connection per client, opened
    before the run: pgbench's figure excludes connection time, so ours should too."""
    db = Database(url, pool_size=clients, max_overflow=0)
    held = [db.engine.connect() for _ in range(clients)]
    for conn in held:
        conn.close()
    return db


def bench_app(fixture: Fixture, plan: PaymentPlan, url: str, clients: int, seconds: float,
              warmup: float, seed: int, admin: Engine) -> LoadResult:
    db = load_database(url, clients)
    try:
        wallet = ReferenceWallet(db, fixture.services.clock, fixture.services.settings)
        wallet.bootstrap()
        if warmup > 0:
            run_load(wallet, plan, clients, warmup, seed + 1)
        checkpoint(admin)
        return run_load(wallet, plan, clients, seconds, seed)
    finally:
        db.dispose()


# ---------------------------------------------------------------- pgbench


@dataclass
class PgbenchResult:
    clients: int
    tps: float
    latency_avg_ms: float | None


def pgbench_env(admin_url: str) -> dict[str, str]:
    url: URL = make_url(admin_url)
    env = dict(os.environ)
    env.update({"PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
                "PGUSER": url.username or "postgres"})
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def pgbench(admin_url: str, *options: str) -> str:
    """Run pgbench on the bench database; its output, or an error that shows what it said."""
    command = ["pgbench", *options, PGBENCH_DB]
    done = subprocess.run(command, env=pgbench_env(admin_url), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def pgbench_init(admin_url: str, scale: int) -> None:
    pgbench(admin_url, "-i", "-s", str(scale), "-q")


def run_pgbench(admin_url: str, clients: int, seconds: int) -> PgbenchResult:
    output = pgbench(admin_url, "-b", "tpcb-like", "-c", str(clients), "-j", str(min(2, clients)),
                     "-T", str(seconds), "-n")
    tps = TPS_LINE.search(output)
    if tps is None:
        raise RuntimeError(f"no tps line in pgbench output:\n{output}")
    latency = LATENCY_LINE.search(output)
    return PgbenchResult(clients, float(tps.group(1)), float(latency.group(1)) if latency else None)


# ---------------------------------------------------------------- report


def report_rows(ours: list[LoadResult], theirs: list[PgbenchResult]) -> list[dict[str, Any]]:
    rows = []
    for app, pg in zip(ours, theirs, strict=True):
        rows.append({
            "clients": app.workers, "payments_per_s": round(app.per_second, 1), "pgbench_tps": round(pg.tps, 1),
            "ratio": round(app.per_second / pg.tps, 3) if pg.tps else None,
            "p50_ms": round(app.percentile(50), 2), "p95_ms": round(app.percentile(95), 2),
            "pgbench_latency_avg_ms": pg.latency_avg_ms, "succeeded": app.done,
            "failed": sum(app.failures.values()), "failures": app.failures, "seconds": round(app.seconds, 2),
        })
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'clients':>7} {'payments/s':>11} {'pgbench tps':>12} {'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} " \
             f"{'pgb avg ms':>10} {'failed':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        pg_latency = f"{r['pgbench_latency_avg_ms']:.2f}" if r["pgbench_latency_avg_ms"] is not None else "-"
        print(f"{r['clients']:>7} {r['payments_per_s']:>11.1f} {r['pgbench_tps']:>12.1f} {r['ratio']:>6.2f} "
              f"{r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {pg_latency:>10} {r['failed']:>6}")
    for r in rows:
        if r["failures"]:
            print(f"  failures at {r['clients']} clients: {r['failures']}")


def aim_line(rows: list[dict[str, Any]]) -> str:
    worst = min(r["ratio"] for r in rows)
    verdict = "met" if worst >= AIM else "NOT met"
    return f"aim: ours/pgbench >= {AIM} at every client count -> {verdict} (worst ratio {worst:.2f})"


def print_verify(services: Services) -> dict[str, Any]:
    report = verify(services.db)
    state = "hold" if report.ok else "VIOLATED"
    print(f"ledger invariants after the load: {state} (rows: {report.counts})")
    for name, sample in report.violations.items():
        print(f"  {name}: {sample[:3]}")
    return {"ok": report.ok, "counts": report.counts, "violations": report.violations}


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    app_url = database_url(args.pg_admin_url, BENCH_DB)
    scale = max(args.clients)
    fixture: Fixture | None = None
    try:
        recreate_database(admin, BENCH_DB)
        recreate_database(admin, PGBENCH_DB)
        began = time.perf_counter()
        fixture = prepare_app(app_url, args.wallets, args.merchants)
        print(f"migrated, seeded {args.wallets} Plus wallets (balance {fixture.balance:,} each) and {args.merchants} "
              f"merchants in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        pgbench_init(args.pg_admin_url, scale)
        print(f"pgbench -i at scale {scale} (= max clients, one TPC-B branch row per client) "
              f"in {time.perf_counter() - began:.1f} s")
        plan = PaymentPlan(fixture.customer_ids, fixture.merchant_ids, fixture.payments_per_wallet, args.seed)
        ours, theirs = [], []
        for clients in args.clients:
            ours.append(bench_app(fixture, plan, app_url, clients, args.seconds, args.warmup, args.seed, admin))
            checkpoint(admin)
            theirs.append(run_pgbench(args.pg_admin_url, clients, args.seconds))
            print(f"  {clients} clients: {ours[-1].per_second:.1f} payments/s, pgbench {theirs[-1].tps:.1f} tps")
        print(f"\n{os.cpu_count()} CPUs shared by PostgreSQL and Python; {args.seconds:g} s per run; "
              f"pgbench scale {scale}; amounts {MIN_AMOUNT:,}-{MAX_AMOUNT:,}\n")
        rows = report_rows(ours, theirs)
        print_table(rows)
        print(aim_line(rows))
        if plan.exhausted:
            print(f"note: the run stopped early after {plan.budget} payments, all that the wallets' balances "
                  "and daily limits allow; use more --wallets")
        ledger = print_verify(fixture.services)
        if args.json:
            write_json(args, scale, rows, ledger)
        failed = any(r["failed"] for r in rows) or not ledger["ok"]
        return 1 if failed else 0
    finally:
        if fixture is not None:
            fixture.services.close()
        if not args.keep:
            drop_database(admin, BENCH_DB)
            drop_database(admin, PGBENCH_DB)
        admin.dispose()


def write_json(args: argparse.Namespace, scale: int, rows: list[dict[str, Any]], ledger: dict[str, Any]) -> None:
    payload = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "pg_admin_url")},
        "cpus": os.cpu_count(), "pgbench_scale": scale, "aim": AIM, "results": rows, "ledger_verify": ledger,
    }
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2, default=str)
    print(f"results written to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
