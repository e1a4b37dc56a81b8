"""Provisional credit while a dispute is decided: money lent from the platform's `disputes` account.

A dispute's customer may get the disputed amount at once (`credit_provisional`); when the case ends
against them, or is settled by the merchant's refund, the credit is taken back (`take_back_provisional`).
Both are ordinary ledger transactions (kinds `dispute_credit` and `dispute_debit`) with an idempotency
key each, so a retry or a racing decision moves the money once.

Taking back never drives a wallet below zero: it takes what is there, up to the credit, and the
caller records the rest as a shortfall (shown, not forced). It is a correction, not the customer's
spending, so a frozen or locked wallet gives it back too and it counts against no limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .ledger import ACCOUNTS, Declined, LedgerCore, MoneyRequest, check_amount
from .port import TransactionView
from .rules import FailureReason, Periods


class ProvisionalCredits(LedgerCore):
    def credit_provisional(self, customer_id: int, amount: int, idempotency_key: str, *, case: str
                           ) -> TransactionView:
        check_amount(amount)
        req = MoneyRequest("dispute_credit", idempotency_key, amount, {"case": case}, customer_id=customer_id)
        extra: dict[str, Any] = {"method": "dispute", "description": case[:200]}

        def attempt(s: Session, now: datetime) -> Any:
            wallet = self._wallet_id(s, customer_id)
            # Not capped and not incoming: it stands in for money the customer says was taken wrongly.
            self._credit_wallet(s, wallet, amount, Periods.at(now, self.settings.tz), counts_as_incoming=False,
                                capped=False)
            row = self._insert_txn(s, req, "succeeded", now, account_id=wallet, **extra)
            self._post(s, row.id, self.platform_account("disputes"), wallet, amount, now)
            return row

        return self._run(req, attempt, extra)

    def take_back_provisional(self, customer_id: int, amount: int, idempotency_key: str, *, case: str
                              ) -> TransactionView:
        """Takes back up to `amount`; the view's amount is what was taken (failed: nothing was there)."""
        check_amount(amount)
        req = MoneyRequest("dispute_debit", idempotency_key, amount, {"case": case}, customer_id=customer_id)
        extra: dict[str, Any] = {"method": "dispute", "description": case[:200]}

        def attempt(s: Session, now: datetime) -> Any:
            acc = ACCOUNTS.c
            # The row lock (SQLite: the write lock BEGIN IMMEDIATE took) makes read-then-take safe here.
            wallet = s.execute(select(acc.id, acc.balance).where(acc.customer_id == customer_id)
                               .with_for_update()).one_or_none()
            if wallet is None:
                return self._wallet_id(s, customer_id)  # raises NotFound
            taken = min(wallet.balance, amount)
            if taken <= 0:
                raise Declined(FailureReason.INSUFFICIENT_BALANCE, balance=wallet.balance, amount=amount,
                               shortfall=amount)
            s.execute(update(ACCOUNTS).where(acc.id == wallet.id, acc.balance >= taken)
                      .values(balance=acc.balance - taken))
            row = self._insert_txn(s, req, "succeeded", now, account_id=wallet.id, amount=taken, **extra)
            self._post(s, row.id, wallet.id, self.platform_account("disputes"), taken, now)
            return row

        return self._run(req, attempt, extra)
