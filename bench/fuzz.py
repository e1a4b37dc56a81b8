"""A longer fuzz of the API from its own OpenAPI schema: every operation, --examples schema-valid and
as many schema-invalid requests each (tests/fuzz.py: schemathesis, derandomized, in-process), against
a fresh SQLite database and, with --pg, a fresh PostgreSQL one. Prints, per database, the operations
and cases run, the answers by class, and every 5xx found (the aim is none); exits 1 if any.

The run is bounded in time: --minutes per database (operations not reached by then are reported as
not reached). Cases per second are printed beside a baseline: the same operations' first case alone.

    .venv/bin/python bench/fuzz.py [--examples 50] [--minutes 10] [--pg] \\
        [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from tests.fuzz import fuzz  # noqa: E402
from tests.helpers import api_client  # noqa: E402

from gopaycare.assistant.nlu import load_product_nlu  # noqa: E402
from gopaycare.container import build  # noqa: E402
from gopaycare.migrations import upgrade  # noqa: E402
from gopaycare.platform.settings import load_settings  # noqa: E402

PHONE, PASSWORD, PIN = "+6281234567890", "Secret-pass1", "258147"
PG_NAME = "gopaycare_bench_fuzz"


def world(svc, client) -> dict[str, str]:  # noqa: ANN001
    """A customer with a payment, a ticket, an admin: something for the fuzz to find."""
    svc.agents.create("ops@gopay.test", "admin", password="Agent-pass1")
    customer = svc.identity.register(phone=PHONE, name="Fuzz", email="fuzz@example.com", id_number="3171000000000001",
                                     password=PASSWORD, pin=PIN, language="en", tier="basic")
    svc.wallet.topup(customer.id, 1_000_000, "card", "fuzz-topup")
    svc.payments.pay(customer.id, svc.wallet.add_merchant("Warung Fuzz", "food"), 5_000, PIN, "fuzz-setup")
    svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")
    login = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()
    return {"agent": svc.agents.create_token("ops@gopay.test"), "customer": login["token"]}


def run(name: str, url: str, work: Path, args: argparse.Namespace, nlu) -> int:  # noqa: ANN001
    upgrade(url)
    settings = load_settings(database_url=url, password_hash_profile="fast", secret_key="bench-fuzz-secret",
                             jobs_path=str(work / f"{name}-jobs.db"), log_json=False, log_level="ERROR")
    svc = build(settings, immediate_jobs=True, senders={})
    svc.wallet.bootstrap()
    svc._assistant = svc.make_assistant(nlu)
    try:
        with api_client(svc) as client:
            tokens = world(svc, client)
            baseline = fuzz(client.app, tokens, examples=1)
            report = fuzz(client.app, tokens, examples=args.examples,
                          deadline=time.monotonic() + args.minutes * 60)
    finally:
        svc.close()
    rate, base_rate = report.cases / max(report.seconds, 1e-9), baseline.cases / max(baseline.seconds, 1e-9)
    print(f"{name}: {report.summary()}")
    print(f"{name}: {rate:.1f} cases/s (baseline, 1 example per operation: {base_rate:.1f} cases/s, "
          f"ratio {rate / base_rate:.2f}); operations not reached: {baseline.operations - report.operations}")
    for line in report.server_errors:
        print(f"{name}: 5xx {line}")
    return len(report.server_errors) + len(baseline.server_errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL too")
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    found = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nlu = load_product_nlu(str(work / "model"))
        found += run("sqlite", f"sqlite:///{work / 'fuzz.db'}", work, args, nlu)
        if args.pg:
            admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
                conn.execute(text(f"CREATE DATABASE {PG_NAME}"))
            try:
                found += run("postgresql", args.pg_admin_url.rsplit("/", 1)[0] + "/" + PG_NAME, work, args, nlu)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
                admin.dispose()
    print(f"5xx found: {found}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
