"""Ledger checks of disputes and providers' callbacks, run by `gopaycare ledger verify` beside the
wallet's own (wallet/verify.py). Each is one SQL query returning the offending rows.

1. A provisional credit the case records is a succeeded dispute_credit of exactly that amount, and its
   taking back a dispute_debit of what the case says was taken; no dispute transaction belongs to no case.
2. Granted − taken back − shortfall = outstanding: for a closed case nothing is outstanding; an open
   case has taken nothing back.
3. The platform's disputes account holds exactly −(granted − taken back) over every case.
4. A callback applied to a transaction: one per transaction, and the transaction holds the status the
   callback recorded (it is not pending any more).
"""

from __future__ import annotations

CHECKS: dict[str, str] = {
    "dispute_credits_match_cases": """
        SELECT d.id, d.provisional_amount, d.provisional_reference, t.kind, t.status, t.amount
        FROM disputes d
        LEFT JOIN wallet_transactions t ON t.reference = d.provisional_reference
        WHERE d.provisional_reference IS NOT NULL
          AND (t.id IS NULL OR t.kind <> 'dispute_credit' OR t.status <> 'succeeded'
               OR t.amount <> d.provisional_amount)
        UNION ALL
        SELECT d.id, d.provisional_taken_back, d.take_back_reference, t.kind, t.status, t.amount
        FROM disputes d
        LEFT JOIN wallet_transactions t ON t.reference = d.take_back_reference
        WHERE d.take_back_reference IS NOT NULL
          AND (t.id IS NULL OR t.kind <> 'dispute_debit'
               OR (t.status = 'succeeded' AND t.amount <> d.provisional_taken_back)
               OR (t.status <> 'succeeded' AND d.provisional_taken_back <> 0))
        UNION ALL
        SELECT NULL, t.amount, t.reference, t.kind, t.status, t.amount
        FROM wallet_transactions t
        WHERE t.kind IN ('dispute_credit', 'dispute_debit') AND t.status = 'succeeded'
          AND NOT EXISTS (SELECT 1 FROM disputes d
                          WHERE d.provisional_reference = t.reference OR d.take_back_reference = t.reference)
    """,
    "provisional_credit_outstanding": """
        SELECT id, status, provisional_amount, provisional_taken_back, provisional_shortfall
        FROM disputes
        WHERE (provisional_reference IS NOT NULL AND take_back_reference IS NOT NULL
               AND provisional_amount - provisional_taken_back - provisional_shortfall <> 0)
           OR (status IN ('needs_response', 'under_review')
               AND (provisional_taken_back <> 0 OR take_back_reference IS NOT NULL))
    """,
    "disputes_account_holds_credits": """
        SELECT a.code,
               COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE credit_account_id = a.id), 0)
             - COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE debit_account_id = a.id), 0) AS held,
               COALESCE((SELECT SUM(provisional_taken_back) FROM disputes), 0)
             - COALESCE((SELECT SUM(provisional_amount) FROM disputes WHERE provisional_reference IS NOT NULL), 0)
               AS from_cases
        FROM ledger_accounts a
        WHERE a.code = 'platform:disputes'
          AND COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE credit_account_id = a.id), 0)
            - COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE debit_account_id = a.id), 0)
           <> COALESCE((SELECT SUM(provisional_taken_back) FROM disputes), 0)
            - COALESCE((SELECT SUM(provisional_amount) FROM disputes WHERE provisional_reference IS NOT NULL), 0)
    """,
    "callbacks_applied_once": """
        SELECT c.id, c.provider, c.event_id, c.reference, c.transaction_status, t.status AS status_now
        FROM payment_callbacks c
        LEFT JOIN wallet_transactions t ON t.reference = c.settles_reference
        WHERE c.result = 'applied'
          AND (c.settles_reference IS NULL OR t.id IS NULL OR t.status = 'pending'
               OR (t.status <> c.transaction_status
                   AND NOT (t.status = 'reversed' AND c.transaction_status = 'failed')))
        UNION ALL
        SELECT NULL, NULL, NULL, t.reference, NULL, t.status
        FROM wallet_transactions t
        WHERE (SELECT COUNT(*) FROM payment_callbacks c WHERE c.result = 'applied'
               AND c.reference = t.reference) > 1
    """,
}
