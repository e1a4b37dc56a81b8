"""The hot path of a QR merchant payment on PostgreSQL: one atomic statement.

A payment is the busiest write GoPay Care sees. The general path (`service.pay_merchant`) runs
about eight statements; here the merchant check, the conditional debit of the wallet (balance,
today's limit, freeze and lock), the transaction row and the journal transfer are one statement
of data-modifying CTEs, sent in autocommit mode: one round trip, atomic by itself.

It only does the happy path. When it returns no row (merchant closed, a limit reached, not enough
balance...), nothing was written and the caller runs the general path, which finds the reason and
records the decline. A repeated idempotency key fails the INSERT, which aborts the whole
statement (the debit included); the caller then returns the first result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

FAST_PAYMENT = text("""
WITH m AS (
    SELECT id, account_id, name FROM merchants WHERE id = :merchant_id AND status = 'active'
), w AS (
    UPDATE ledger_accounts AS a
       SET balance = a.balance - :amount,
           out_day_total = (CASE WHEN a.out_day = :day THEN a.out_day_total ELSE 0 END) + :amount,
           out_day = :day
     WHERE a.customer_id = :customer_id AND a.kind = 'wallet' AND NOT a.frozen AND NOT a.locked
       AND a.balance >= :amount
       AND (CASE WHEN a.out_day = :day THEN a.out_day_total ELSE 0 END) + :amount
           <= (CASE WHEN a.tier = 'plus' THEN :plus_daily ELSE :basic_daily END)
       AND EXISTS (SELECT 1 FROM m)
    RETURNING a.id
), t AS (
    INSERT INTO wallet_transactions (reference, idempotency_key, request_hash, kind, status, amount, currency,
                                     account_id, counterparty_account_id, merchant_id, method, refunded_amount,
                                     description, created_at, updated_at)
    SELECT :reference, :key, :request_hash, 'payment', 'succeeded', :amount, :currency, w.id, m.account_id, m.id,
           :method, 0, CAST(:description AS VARCHAR), :now, :now
      FROM w, m
    RETURNING id, account_id, counterparty_account_id
), x AS (
    INSERT INTO ledger_transfers (transaction_id, debit_account_id, credit_account_id, amount, currency, created_at)
    SELECT t.id, t.account_id, t.counterparty_account_id, :amount, :currency, :now FROM t
)
SELECT t.id, m.name FROM t, m
""")


# A refund of a succeeded payment, back to the wallet that paid, from the merchant: the claim on the
# payment's refundable rest, the credit (not capped, not counted as incoming, as `service.refund`), the
# refund row and its journal transfer, one statement. No row: nothing written, the general path decides
# (not a payment, not succeeded, more than what is left). A reused key fails the INSERT and aborts all.
FAST_REFUND = text("""
WITH o AS (
    UPDATE wallet_transactions AS p
       SET refunded_amount = p.refunded_amount + :amount, updated_at = :now
     WHERE p.reference = :original AND p.kind = 'payment' AND p.status = 'succeeded'
       AND p.refunded_amount + :amount <= p.amount
    RETURNING p.id, p.account_id, p.counterparty_account_id, p.merchant_id
), w AS (
    UPDATE ledger_accounts AS a SET balance = a.balance + :amount FROM o WHERE a.id = o.account_id
    RETURNING a.id
), t AS (
    INSERT INTO wallet_transactions (reference, idempotency_key, request_hash, kind, status, amount, currency,
                                     account_id, counterparty_account_id, merchant_id, original_id, refunded_amount,
                                     description, created_at, updated_at)
    SELECT :reference, :key, :request_hash, 'refund', 'succeeded', :amount, :currency, o.account_id,
           o.counterparty_account_id, o.merchant_id, o.id, 0, CAST(:description AS VARCHAR), :now, :now
      FROM o, w
    RETURNING id, account_id, counterparty_account_id, merchant_id
), x AS (
    INSERT INTO ledger_transfers (transaction_id, debit_account_id, credit_account_id, amount, currency, created_at)
    SELECT t.id, t.counterparty_account_id, t.account_id, :amount, :currency, :now FROM t
)
SELECT t.id, t.merchant_id, m.name FROM t LEFT JOIN merchants m ON m.id = t.merchant_id
""")


class FastPayments:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def pay(self, params: dict[str, Any]) -> Any:
        """The new transaction's (id, merchant name), or None when the general path must decide."""
        with self.engine.connect() as conn:
            return conn.execute(FAST_PAYMENT, params).first()

    def refund(self, params: dict[str, Any]) -> Any:
        """The refund's (id, merchant id, merchant name), or None when the general path must decide."""
        with self.engine.connect() as conn:
            return conn.execute(FAST_REFUND, params).first()
