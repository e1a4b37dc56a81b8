"""Ledger primitives shared by every wallet operation.

How money moves safely here:
- Balance checks and changes are one conditional UPDATE on the wallet row
  (`balance = balance - x WHERE balance >= x AND <limits hold>`), never read-then-write.
- Each transaction row carries its idempotency key under a unique constraint. A concurrent retry
  blocks on that index until the first commits, then fails and returns the first result.
- When one operation touches two rows it updates them in ascending account id order, so two
  operations never wait on each other in a cycle.
- A decline rolls back whatever the attempt did, then records a failed transaction in a fresh
  unit of work: the customer's history shows it, and nothing else changed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import DomainError, IdempotencyConflict, NotFound, ValidationFailed
from ..platform.settings import Settings
from .models import LedgerAccount, LedgerTransfer, Merchant, WalletTransaction
from .port import TransactionView
from .rules import (
    FailureReason,
    Periods,
    tier_limits,
)

PLATFORM_ACCOUNTS = ("float", "cashback", "suspense", "settlement", "fees", "disputes")
MAX_AMOUNT = 1_000_000_000_000  # a sanity bound, far above any tier limit

ACCOUNTS = LedgerAccount.__table__
TXNS = WalletTransaction.__table__
TRANSFERS = LedgerTransfer.__table__


class Declined(Exception):
    """Raised inside an attempt to roll it back and record a failed transaction instead."""

    def __init__(self, reason: FailureReason, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class MoneyRequest:
    """One money-moving request: what is stored on its transaction row, and its fingerprint."""

    kind: str
    key: str
    amount: int
    params: dict[str, Any]
    # The wallet the transaction belongs to: known directly, or found from its customer.
    account_id: int | None = None
    customer_id: int | None = None

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(
            {"kind": self.kind, "amount": self.amount, "customer": self.customer_id, **self.params},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount must be an integer number of minor units", field="amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationFailed("amount must be positive", field="amount", amount=amount)


def check_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise ValidationFailed("idempotency key must be 1 to 128 characters", field="idempotency_key")


def jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in details.items()}


class LedgerCore:
    """Conditional balance updates, journal postings, transaction rows and the idempotent runner."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.currency = settings.currency
        self._platform: dict[str, int] = {}

    def bootstrap(self) -> None:
        """Create the platform accounts if missing (idempotent; run at start and by `migrate`)."""
        with self.db.transaction() as s:
            existing = {
                code: acc_id
                for code, acc_id in s.execute(
                    select(ACCOUNTS.c.code, ACCOUNTS.c.id).where(ACCOUNTS.c.kind == "platform")
                )
            }
            for name in PLATFORM_ACCOUNTS:
                code = f"platform:{name}"
                if code not in existing:
                    existing[code] = s.execute(
                        insert(ACCOUNTS)
                        .values(kind="platform", code=code, currency=self.currency,
                                created_at=self.clock.now(), out_day_total=0, in_month_total=0,
                                locked=False, frozen=False)
                        .returning(ACCOUNTS.c.id)
                    ).scalar_one()
        self._platform = {code.split(":", 1)[1]: acc_id for code, acc_id in existing.items()}

    def platform_account(self, name: str) -> int:
        if not self._platform:
            # Never bootstrapped lazily: that would open a second unit of work inside the caller's.
            raise RuntimeError("wallet.bootstrap() must run at start-up")
        return self._platform[name]

    def _wallet_row(self, s: Session, customer_id: int) -> Any:
        row = s.execute(select(ACCOUNTS).where(ACCOUNTS.c.customer_id == customer_id)).one_or_none()
        if row is None:
            raise NotFound("wallet not found", customer_id=customer_id)
        return row

    def _wallet_id(self, s: Session, customer_id: int | None) -> int:
        acc_id = s.execute(
            select(ACCOUNTS.c.id).where(ACCOUNTS.c.customer_id == customer_id)
        ).scalar_one_or_none()
        if acc_id is None:
            raise NotFound("wallet not found", customer_id=customer_id)
        return acc_id

    def _original(self, s: Session, reference: str) -> Any:
        row = s.execute(select(TXNS).where(TXNS.c.reference == reference)).one_or_none()
        if row is None:
            raise NotFound("transaction not found", reference=reference)
        return row

    def _debit_wallet(
        self, s: Session, amount: int, periods: Periods, *, account_id: int | None = None,
        customer_id: int | None = None,
    ) -> int:
        """Take `amount` out of a wallet within its balance and today's outgoing limit, in one
        conditional UPDATE. Returns the wallet's account id."""
        acc = ACCOUNTS.c
        which = acc.id == account_id if account_id is not None else acc.customer_id == customer_id
        used_today = case((acc.out_day == periods.day, acc.out_day_total), else_=0)
        daily_limit = case(
            (acc.tier == "plus", self.settings.limits.plus.daily_outgoing),
            else_=self.settings.limits.basic.daily_outgoing,
        )
        row = s.execute(
            update(ACCOUNTS)
            .where(which, acc.kind == "wallet", acc.frozen.is_(False), acc.locked.is_(False),
                   acc.balance >= amount, used_today + amount <= daily_limit)
            .values(balance=acc.balance - amount, out_day_total=used_today + amount, out_day=periods.day)
            .returning(acc.id)
        ).first()
        if row is None:
            raise self._why_debit_failed(s, which, amount, periods)
        return row.id

    def _why_debit_failed(self, s: Session, which: Any, amount: int, periods: Periods) -> Exception:
        row = s.execute(select(ACCOUNTS).where(which, ACCOUNTS.c.kind == "wallet")).one_or_none()
        if row is None:
            return NotFound("wallet not found")
        if row.frozen:
            return Declined(FailureReason.ACCOUNT_FROZEN)
        if row.locked:
            return Declined(FailureReason.ACCOUNT_LOCKED)
        if row.balance < amount:
            return Declined(FailureReason.INSUFFICIENT_BALANCE, balance=row.balance, amount=amount,
                             shortfall=amount - row.balance)
        limits = tier_limits(self.settings.limits, row.tier)
        used = row.out_day_total if row.out_day == periods.day else 0
        return Declined(FailureReason.DAILY_LIMIT_EXCEEDED, limit=limits.daily_outgoing, used=used,
                         amount=amount, remaining=max(limits.daily_outgoing - used, 0),
                         resets_at=periods.day_resets_at)

    def _credit_wallet(
        self, s: Session, account_id: int, amount: int, periods: Periods, *,
        counts_as_incoming: bool, capped: bool = True,
    ) -> None:
        """Put `amount` into a wallet within its balance cap and, for top-ups and transfers, the
        monthly incoming limit. Refunds and reversals give back what was taken: not capped."""
        acc = ACCOUNTS.c
        used_month = case((acc.in_month == periods.month, acc.in_month_total), else_=0)
        conditions = [acc.id == account_id]
        values: dict[str, Any] = {"balance": acc.balance + amount}
        if capped:
            cap = case((acc.tier == "plus", self.settings.limits.plus.balance_cap),
                       else_=self.settings.limits.basic.balance_cap)
            conditions.append(acc.balance + amount <= cap)
        if counts_as_incoming:
            monthly = case((acc.tier == "plus", self.settings.limits.plus.monthly_incoming),
                           else_=self.settings.limits.basic.monthly_incoming)
            conditions.append(used_month + amount <= monthly)
            values.update(in_month_total=used_month + amount, in_month=periods.month)
        row = s.execute(update(ACCOUNTS).where(*conditions).values(**values).returning(acc.id)).first()
        if row is None:
            raise self._why_credit_failed(s, account_id, amount, periods, counts_as_incoming)

    def _why_credit_failed(
        self, s: Session, account_id: int, amount: int, periods: Periods, counts_as_incoming: bool
    ) -> Declined:
        row = s.execute(select(ACCOUNTS).where(ACCOUNTS.c.id == account_id)).one()
        limits = tier_limits(self.settings.limits, row.tier)
        used = row.in_month_total if row.in_month == periods.month else 0
        # The monthly limit first: only the 1st fixes it, while spending fixes the cap.
        if counts_as_incoming and used + amount > limits.monthly_incoming:
            return Declined(FailureReason.MONTHLY_LIMIT_EXCEEDED, limit=limits.monthly_incoming, used=used,
                             amount=amount, remaining=max(limits.monthly_incoming - used, 0),
                             resets_at=periods.month_resets_at)
        return Declined(FailureReason.BALANCE_CAP_EXCEEDED, cap=limits.balance_cap,
                         balance=row.balance, amount=amount,
                         room=max(limits.balance_cap - row.balance, 0))

    def _post(self, s: Session, txn_id: int, debit: int, credit: int, amount: int, now: datetime) -> None:
        s.execute(insert(TRANSFERS).values(
            transaction_id=txn_id, debit_account_id=debit, credit_account_id=credit, amount=amount,
            currency=self.currency, created_at=now))

    def _insert_txn(
        self, s: Session, req: MoneyRequest, status: str, now: datetime, *,
        account_id: int | None = None, amount: int | None = None, failure: Declined | None = None,
        **extra: Any,
    ) -> Any:
        """Insert the transaction row (this is where a concurrent retry meets the unique key)."""
        details = extra.pop("failure_details", None)  # what a succeeded row explains (a partial clawback)
        if account_id is None:
            account_id = req.account_id or self._wallet_id(s, req.customer_id)
        return s.execute(
            insert(TXNS)
            .values(
                reference=self._new_reference(now), idempotency_key=req.key,
                request_hash=req.fingerprint, kind=req.kind, status=status, amount=amount or req.amount,
                currency=self.currency, account_id=account_id, refunded_amount=0,
                failure_reason=failure.reason.value if failure else None,
                failure_details=jsonable(failure.details) if failure else details,
                created_at=now, updated_at=now, **extra,
            )
            .returning(*TXNS.c)
        ).one()

    def _new_reference(self, now: datetime) -> str:
        local = now.astimezone(self.settings.tz)
        return "GP" + local.strftime("%y%m%d") + secrets.token_hex(5).upper()

    def _run(
        self, req: MoneyRequest, attempt: Callable[[Session, datetime], Any],
        declined_extra: dict[str, Any] | None = None,
    ) -> TransactionView:
        """Run `attempt` in one unit of work keyed by the request's idempotency key.

        `attempt` returns the transaction row it inserted. Whatever goes wrong, a transaction
        already stored under the same key wins: it is returned if its parameters match, and
        IdempotencyConflict is raised if they do not."""
        check_key(req.key)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = attempt(s, now)
                return self._views(s, [row], perspective=None)[0]
        except Declined as declined:
            if (existing := self._existing(req)) is not None:
                return existing
            try:
                with self.db.transaction() as s:
                    row = self._insert_txn(s, req, "failed", now, failure=declined, **(declined_extra or {}))
                    return self._views(s, [row], perspective=None)[0]
            except IntegrityError as exc:
                return self._existing_or_raise(req, exc)
        except IntegrityError as exc:
            return self._existing_or_raise(req, exc)
        except DomainError:
            if (existing := self._existing(req)) is not None:
                return existing
            raise

    def _existing_or_raise(self, req: MoneyRequest, exc: IntegrityError) -> TransactionView:
        existing = self._existing(req)
        if existing is None:
            raise exc
        return existing

    def _existing(self, req: MoneyRequest) -> TransactionView | None:
        with self.db.read() as s:
            row = s.execute(select(TXNS).where(TXNS.c.idempotency_key == req.key)).one_or_none()
            if row is None:
                return None
            if row.request_hash != req.fingerprint:
                raise IdempotencyConflict(
                    "this idempotency key was already used for a different request",
                    idempotency_key=req.key, reference=row.reference,
                )
            return self._views(s, [row], perspective=None)[0]

    def _views(self, s: Session, rows: list[Any], *, perspective: int | None) -> list[TransactionView]:
        merchant_ids = {r.merchant_id for r in rows if r.merchant_id}
        original_ids = {r.original_id for r in rows if r.original_id}
        names = dict(s.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids))).all()) \
            if merchant_ids else {}
        originals = dict(s.execute(select(TXNS.c.id, TXNS.c.reference).where(TXNS.c.id.in_(original_ids))).all()) \
            if original_ids else {}
        overdue_before = self.clock.now() - timedelta(minutes=self.settings.pending_too_long_minutes)
        views = []
        for r in rows:
            incoming = r.kind in ("topup", "refund", "cashback", "reversal", "dispute_credit") or (
                perspective is not None and r.counterparty_account_id == perspective and r.kind == "p2p"
            )
            views.append(TransactionView(
                reference=r.reference, kind=r.kind, status=r.status, amount=r.amount, currency=r.currency,
                created_at=r.created_at, updated_at=r.updated_at, failure_reason=r.failure_reason,
                failure_details=r.failure_details or {}, method=r.method, merchant_id=r.merchant_id,
                merchant_name=names.get(r.merchant_id), description=r.description,
                original_reference=originals.get(r.original_id), refunded_amount=r.refunded_amount,
                direction="in" if incoming else "out",
                pending_too_long=r.status == "pending" and r.created_at < overdue_before,
            ))
        return views
