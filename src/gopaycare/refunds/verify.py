"""The refunds' part of `gopaycare ledger verify`: what the requests say was paid is what the wallet paid.

Registered with the ledger's checks (wallet/verify.py `register_checks`) when the refund service loads:
1. every refunded request has its one wallet refund (or reversal) under its key, of its amount, on its
   payment; and every wallet refund made for a request belongs to a refunded request (paid = requests);
2. a request that is not refunded moved no money under its key;
3. each clawback adds up (taken + shortfall = due), took what its wallet clawback took, and a payment's
   clawbacks never exceed the cashback the payment earned.
"""

from __future__ import annotations

from ..wallet.verify import register_checks

CHECKS = {
    "refunds_paid_match_requests": """
        SELECT r.id, r.status, r.amount, r.transaction_reference, t.reference AS wallet_reference,
               t.amount AS wallet_amount, t.status AS wallet_status, o.reference AS wallet_original
        FROM refund_requests r
        LEFT JOIN wallet_transactions t ON t.idempotency_key = 'refund-request-' || CAST(r.id AS VARCHAR(20))
        LEFT JOIN wallet_transactions o ON o.id = t.original_id
        WHERE (r.status = 'refunded'
               AND (t.id IS NULL OR t.status <> 'succeeded' OR o.reference <> r.transaction_reference
                    OR r.refund_reference IS NULL OR r.refund_reference <> t.reference
                    OR (t.kind = 'refund' AND t.amount <> r.amount)))
           OR (r.status <> 'refunded' AND r.status <> 'processing' AND t.id IS NOT NULL AND t.status = 'succeeded')
    """,
    "refund_payments_have_requests": """
        SELECT t.reference, t.amount, t.idempotency_key
        FROM wallet_transactions t
        WHERE t.kind IN ('refund', 'reversal') AND t.idempotency_key LIKE 'refund-request-%'
          AND NOT EXISTS (SELECT 1 FROM refund_requests r
                          WHERE t.idempotency_key = 'refund-request-' || CAST(r.id AS VARCHAR(20)))
    """,
    "clawbacks_consistent": """
        SELECT c.request_id, c.due, c.taken, c.shortfall, t.amount AS wallet_taken, t.status AS wallet_status
        FROM refund_clawbacks c
        LEFT JOIN wallet_transactions t ON t.idempotency_key = 'refund-clawback-' || CAST(c.request_id AS VARCHAR(20))
        WHERE c.taken + c.shortfall <> c.due
           OR (c.taken > 0 AND (t.id IS NULL OR t.status <> 'succeeded' OR t.amount <> c.taken
                                OR t.kind <> 'clawback'))
           OR (c.taken = 0 AND t.id IS NOT NULL AND t.status = 'succeeded')
    """,
    "clawbacks_within_cashback": """
        SELECT c.payment_reference, SUM(c.due) AS clawed,
               (SELECT COALESCE(SUM(k.amount), 0) FROM wallet_transactions k
                JOIN wallet_transactions p ON p.id = k.original_id
                WHERE p.reference = c.payment_reference AND k.kind = 'cashback' AND k.status = 'succeeded') AS cashback
        FROM refund_clawbacks c
        GROUP BY c.payment_reference
        HAVING SUM(c.due) > (SELECT COALESCE(SUM(k.amount), 0) FROM wallet_transactions k
                             JOIN wallet_transactions p ON p.id = k.original_id
                             WHERE p.reference = c.payment_reference AND k.kind = 'cashback'
                               AND k.status = 'succeeded')
    """,
}


def register() -> None:
    register_checks(CHECKS)
