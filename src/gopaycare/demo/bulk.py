"""Bulk demo customers, up to millions, for benchmarks: fast inserts that keep the ledger exact.

Each bulk customer has a wallet, a top-up and up to three merchant payments, 1 to 60 days old.
Balances and limit counters are computed here from the same rows that are inserted, so
`gopaycare ledger verify` passes on the result. PostgreSQL gets COPY; SQLite gets executemany.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from tqdm import tqdm

from ..container import Services
from ..identity.models import Customer
from ..wallet.models import LedgerAccount, LedgerTransfer, Merchant, WalletTransaction
from ..wallet.rules import Periods

ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
            "秀英", "桂英", "建华"]
ID_FIRST = ["Budi", "Siti", "Agus", "Dewi", "Andi", "Rina", "Joko", "Sri", "Eko", "Putri", "Rizky", "Ayu", "Hendra",
            "Wulan", "Fajar", "Indah", "Bayu", "Nur", "Yusuf", "Lestari"]
ID_LAST = ["Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Kurniawan", "Setiawan", "Lestari", "Nugroho",
           "Siregar", "Harahap", "Gunawan", "Susanto", "Halim", "Wibowo"]
BATCH = 5_000


def _name(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.35:
        return rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN), "zh-CN"
    return f"{rng.choice(ID_FIRST)} {rng.choice(ID_LAST)}", "id"


def _copy_or_insert(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns = list(rows[0])
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        conn.execute(table.insert(), list(rows))


def _next_ids(conn: Any) -> dict[str, int]:
    return {t.name: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1
            for t in (Customer.__table__, LedgerAccount.__table__, WalletTransaction.__table__,
                      LedgerTransfer.__table__)}


def seed_bulk(services: Services, count: int, *, seed: int = 7, progress: bool = True) -> int:
    """Add `count` bulk customers; returns how many transactions were written."""
    if count <= 0:
        return 0
    rng = random.Random(seed)
    settings = services.settings
    now = services.clock.now()
    periods = Periods.at(now, settings.tz)
    wallet = services.wallet
    float_id = wallet.platform_account("float")
    with services.db.read() as s:
        merchants = [(m.id, m.account_id) for m in s.execute(
            select(Merchant.id, Merchant.account_id).where(Merchant.status == "active"))]
    if not merchants:
        raise RuntimeError("no active merchants: seed the demo story first")
    password_hash = services.identity.hasher.hash_password("GoPay2026!")
    pin_hash = services.identity.hasher.hash_pin("147258")
    written = 0
    bar = tqdm(total=count, unit="customers", disable=not progress, desc="bulk customers")
    with services.db.engine.begin() as conn:
        ids = _next_ids(conn)
        start_id = ids["customers"]
        for batch_start in range(0, count, BATCH):
            rows = _batch(rng, start_id + batch_start, min(BATCH, count - batch_start), ids, merchants,
                          float_id, now, periods, settings.currency, password_hash, pin_hash)
            for table, table_rows in rows:
                _copy_or_insert(conn, table, table_rows)
            written += len(rows[2][1])
            bar.update(min(BATCH, count - batch_start))
        if conn.dialect.name == "postgresql":
            for table in ("customers", "ledger_accounts", "wallet_transactions", "ledger_transfers"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
    bar.close()
    if services.db.dialect == "postgresql":
        with services.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return written


def _batch(rng: random.Random, first: int, n: int, ids: dict[str, int], merchants: list[tuple[int, int]],
           float_id: int, now: datetime, periods: Periods, currency: str, password_hash: str,
           pin_hash: str) -> list[tuple[Any, list[dict[str, Any]]]]:
    customers, accounts, txns, transfers = [], [], [], []
    for i in range(first, first + n):
        name, lang = _name(rng)
        created = now - timedelta(days=61, minutes=rng.randrange(60 * 24 * 300))
        customers.append(dict(id=i, phone=f"+62857{i:08d}", email=f"customer{i}@example.net", name=name,
                              language=lang, id_number_hash=None, id_last4=f"{i % 10000:04d}",
                              password_hash=password_hash, pin_hash=pin_hash, failed_logins=0, locked_at=None,
                              lock_reason=None, frozen_at=None, freeze_reason=None, created_at=created,
                              updated_at=created))
        account_id = ids["ledger_accounts"]
        ids["ledger_accounts"] += 1
        tier = "plus" if rng.random() < 0.3 else "basic"
        balance, in_month_total = 0, 0
        when = now - timedelta(days=rng.randint(30, 60), minutes=rng.randrange(1440))
        topup = rng.choice([50_000, 100_000, 200_000, 500_000, 1_000_000])
        events: list[tuple[str, int, int | None, int | None, datetime]] = [("topup", topup, None, None, when)]
        balance += topup
        if Periods.at(when, periods.day_resets_at.tzinfo).month == periods.month:  # type: ignore[arg-type]
            in_month_total += topup
        for _ in range(rng.randint(0, 3)):
            when = when + timedelta(days=rng.randint(1, 9), minutes=rng.randrange(1440))
            if when >= now - timedelta(days=1):
                break
            merchant_id, merchant_account = rng.choice(merchants)
            amount = min(balance, rng.choice([12_000, 18_500, 25_000, 47_000, 86_000, 150_000]))
            if amount <= 0:
                break
            balance -= amount
            events.append(("payment", amount, merchant_id, merchant_account, when))
        for kind, amount, merchant_id, merchant_account, at in events:
            txn_id = ids["wallet_transactions"]
            ids["wallet_transactions"] += 1
            txns.append(dict(
                id=txn_id, reference="GP" + at.strftime("%y%m%d") + secrets.token_hex(5).upper(),
                idempotency_key=f"bulk-{txn_id}", request_hash="bulk", kind=kind, status="succeeded",
                failure_reason=None, failure_details=None, amount=amount, currency=currency, account_id=account_id,
                counterparty_account_id=merchant_account, merchant_id=merchant_id,
                method="qr" if kind == "payment" else "bank_transfer", original_id=None, refunded_amount=0,
                description=None, created_at=at, updated_at=at))
            debit, credit = (float_id, account_id) if kind == "topup" else (account_id, merchant_account)
            transfers.append(dict(id=ids["ledger_transfers"], transaction_id=txn_id, debit_account_id=debit,
                                  credit_account_id=credit, amount=amount, currency=currency, created_at=at))
            ids["ledger_transfers"] += 1
        accounts.append(dict(id=account_id, kind="wallet", code=f"wallet:{i}", currency=currency, customer_id=i,
                             tier=tier, balance=balance, locked=False, frozen=False, out_day=None, out_day_total=0,
                             in_month=periods.month if in_month_total else None, in_month_total=in_month_total,
                             created_at=customers[-1]["created_at"]))
    return [(Customer.__table__, customers), (LedgerAccount.__table__, accounts),
            (WalletTransaction.__table__, txns), (LedgerTransfer.__table__, transfers)]
