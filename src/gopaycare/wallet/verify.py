"""`gopaycare ledger verify`: prove the ledger's invariants on the live database.

Each check is one SQL query that returns the offending rows (none when the invariant holds):
1. every transfer balances: a positive amount between two different accounts of its currency;
2. each wallet's cached balance equals its credits minus its debits;
3. no wallet below zero;
4. refunds stay within their original payment, and the payment's counter matches them;
5. the suspense account holds exactly the money in flight (pending provider payments, failed
   payments not yet reversed, pending withdrawals);
6. a declined transaction moved no money, and a succeeded one moved some.

Other packages that keep records of money the wallet moved for them (refunds, disputes) add their own
checks through `register_checks` (a small list, so each package's checks stay in its own module).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from ..platform.db import Database

CHECKS: dict[str, str] = {
    "transfer_balances": """
        SELECT t.id, t.amount, t.debit_account_id, t.credit_account_id, t.currency
        FROM ledger_transfers t
        JOIN ledger_accounts d ON d.id = t.debit_account_id
        JOIN ledger_accounts c ON c.id = t.credit_account_id
        WHERE t.amount <= 0 OR t.debit_account_id = t.credit_account_id
           OR d.currency <> t.currency OR c.currency <> t.currency
    """,
    "cached_balance_matches_entries": """
        SELECT a.id, a.code, a.balance,
               COALESCE(cr.total, 0) - COALESCE(dr.total, 0) AS from_entries
        FROM ledger_accounts a
        LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS total FROM ledger_transfers
                   GROUP BY credit_account_id) cr ON cr.id = a.id
        LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS total FROM ledger_transfers
                   GROUP BY debit_account_id) dr ON dr.id = a.id
        WHERE a.kind = 'wallet' AND a.balance <> COALESCE(cr.total, 0) - COALESCE(dr.total, 0)
    """,
    "no_wallet_below_zero": """
        SELECT id, code, balance FROM ledger_accounts WHERE kind = 'wallet' AND balance < 0
    """,
    "refunds_within_original": """
        SELECT p.reference, p.amount, p.refunded_amount, COALESCE(r.total, 0) AS refunds
        FROM wallet_transactions p
        LEFT JOIN (SELECT original_id, SUM(amount) AS total FROM wallet_transactions
                   WHERE kind = 'refund' AND status = 'succeeded' GROUP BY original_id) r ON r.original_id = p.id
        WHERE p.kind = 'payment'
          AND (COALESCE(r.total, 0) > p.amount OR COALESCE(r.total, 0) <> p.refunded_amount)
    """,
    "suspense_holds_money_in_flight": """
        SELECT a.code,
               COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE credit_account_id = a.id), 0)
             - COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE debit_account_id = a.id), 0) AS held,
               COALESCE((SELECT SUM(t.amount) FROM wallet_transactions t
                         WHERE (t.kind = 'payment' AND t.status IN ('pending', 'failed')
                                 AND EXISTS (SELECT 1 FROM ledger_transfers x
                                             WHERE x.transaction_id = t.id AND x.credit_account_id = a.id))
                            OR (t.kind = 'withdrawal' AND t.status = 'pending')), 0) AS in_flight
        FROM ledger_accounts a
        WHERE a.code = 'platform:suspense'
          AND COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE credit_account_id = a.id), 0)
            - COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE debit_account_id = a.id), 0)
           <> COALESCE((SELECT SUM(t.amount) FROM wallet_transactions t
                        WHERE (t.kind = 'payment' AND t.status IN ('pending', 'failed')
                                AND EXISTS (SELECT 1 FROM ledger_transfers x
                                            WHERE x.transaction_id = t.id AND x.credit_account_id = a.id))
                           OR (t.kind = 'withdrawal' AND t.status = 'pending')), 0)
    """,
    "status_matches_money": """
        SELECT t.reference, t.kind, t.status, t.failure_reason,
               (SELECT COUNT(*) FROM ledger_transfers x WHERE x.transaction_id = t.id) AS transfers
        FROM wallet_transactions t
        WHERE (t.status = 'succeeded'
               AND NOT EXISTS (SELECT 1 FROM ledger_transfers x WHERE x.transaction_id = t.id))
           OR (t.status = 'failed' AND t.kind NOT IN ('payment', 'withdrawal')
               AND EXISTS (SELECT 1 FROM ledger_transfers x WHERE x.transaction_id = t.id))
    """,
}


# Checks other packages registered: (name, SQL returning the offending rows), run after the ledger's own.
EXTRA_CHECKS: list[tuple[str, str]] = []


def register_checks(checks: Mapping[str, str]) -> None:
    """Add checks (safe to call twice: a name registers once)."""
    known = {name for name, _ in EXTRA_CHECKS} | set(CHECKS)
    EXTRA_CHECKS.extend((name, sql) for name, sql in checks.items() if name not in known)


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def verify(db: Database, *, sample: int = 20, extra: Mapping[str, str] | None = None) -> Report:
    """`extra`: other packages' checks of the same shape (the CLI passes every one it knows)."""
    report = Report()
    with db.read() as s:
        for table in ("ledger_accounts", "ledger_transfers", "wallet_transactions"):
            report.counts[table] = s.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
        for name, sql in [*CHECKS.items(), *EXTRA_CHECKS, *(extra or {}).items()]:
            rows = s.execute(text(sql)).mappings().fetchmany(sample)
            if rows:
                report.violations[name] = [dict(r) for r in rows]
    return report
