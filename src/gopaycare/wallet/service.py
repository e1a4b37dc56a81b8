"""The reference wallet: every operation of `WalletBackend` on our own ledger tables.

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

from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, IdempotencyConflict, NotFound, ValidationFailed
from ..platform.settings import Settings
from .models import LedgerAccount, LedgerTransfer, Merchant, WalletTransaction
from .port import LimitUsage, TransactionView, WalletSummary
from .rules import (
    PAYMENT_CHANNELS,
    PROVIDER_REASONS,
    TIERS,
    TOPUP_METHODS,
    FailureReason,
    Periods,
    tier_limits,
)

PLATFORM_ACCOUNTS = ("float", "cashback", "suspense", "settlement", "fees")
MAX_AMOUNT = 1_000_000_000_000  # a sanity bound, far above any tier limit

_accounts = LedgerAccount.__table__
_txns = WalletTransaction.__table__
_transfers = LedgerTransfer.__table__


class _Declined(Exception):
    """Raised inside an attempt to roll it back and record a failed transaction instead."""

    def __init__(self, reason: FailureReason, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class _Request:
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


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount must be an integer number of minor units", field="amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationFailed("amount must be positive", field="amount", amount=amount)


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise ValidationFailed("idempotency key must be 1 to 128 characters", field="idempotency_key")


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in details.items()}


class ReferenceWallet:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.currency = settings.currency
        self._platform: dict[str, int] = {}

    # ---------------------------------------------------------------- setup

    def bootstrap(self) -> None:
        """Create the platform accounts if missing (idempotent; run at start and by `migrate`)."""
        with self.db.transaction() as s:
            existing = {
                code: acc_id
                for code, acc_id in s.execute(
                    select(_accounts.c.code, _accounts.c.id).where(_accounts.c.kind == "platform")
                )
            }
            for name in PLATFORM_ACCOUNTS:
                code = f"platform:{name}"
                if code not in existing:
                    existing[code] = s.execute(
                        insert(_accounts)
                        .values(kind="platform", code=code, currency=self.currency,
                                created_at=self.clock.now(), out_day_total=0, in_month_total=0,
                                locked=False, frozen=False)
                        .returning(_accounts.c.id)
                    ).scalar_one()
        self._platform = {code.split(":", 1)[1]: acc_id for code, acc_id in existing.items()}

    def platform_account(self, name: str) -> int:
        if not self._platform:
            # Never bootstrapped lazily: that would open a second unit of work inside the caller's.
            raise RuntimeError("wallet.bootstrap() must run at start-up")
        return self._platform[name]

    def open_wallet(self, customer_id: int, tier: str = "basic") -> WalletSummary:
        if tier not in TIERS:
            raise ValidationFailed(f"tier must be one of {', '.join(TIERS)}", field="tier")
        with self.db.transaction() as s:
            self.open_wallet_in(s, customer_id, tier)
        return self.summary(customer_id)

    def open_wallet_in(self, s: Session, customer_id: int, tier: str = "basic") -> int:
        """Open a wallet inside the caller's unit of work (customer registration owns it)."""
        exists = s.execute(
            select(_accounts.c.id).where(_accounts.c.customer_id == customer_id)
        ).scalar_one_or_none()
        if exists is not None:
            raise Conflict("this customer already has a wallet", code="wallet_exists")
        return s.execute(
            insert(_accounts)
            .values(kind="wallet", code=f"wallet:{customer_id}", currency=self.currency,
                    customer_id=customer_id, tier=tier, balance=0, locked=False, frozen=False,
                    out_day_total=0, in_month_total=0, created_at=self.clock.now())
            .returning(_accounts.c.id)
        ).scalar_one()

    def add_merchant(self, name: str, category: str, *, status: str = "active") -> int:
        with self.db.transaction() as s:
            now = self.clock.now()
            acc_id = s.execute(
                insert(_accounts)
                .values(kind="merchant", code=f"merchant:{secrets.token_hex(8)}", currency=self.currency,
                        created_at=now, locked=False, frozen=False, out_day_total=0, in_month_total=0)
                .returning(_accounts.c.id)
            ).scalar_one()
            merchant = Merchant(name=name, category=category, status=status, account_id=acc_id,
                                created_at=now)
            s.add(merchant)
            s.flush()
            return merchant.id

    def set_merchant_status(self, merchant_id: int, status: str) -> None:
        with self.db.transaction() as s:
            if s.execute(update(Merchant).where(Merchant.id == merchant_id).values(status=status)).rowcount != 1:
                raise NotFound("merchant not found", merchant_id=merchant_id)

    # ---------------------------------------------------------------- account state

    def summary(self, customer_id: int) -> WalletSummary:
        with self.db.read() as s:
            row = self._wallet_row(s, customer_id)
        return self._summary_of(row)

    def _summary_of(self, row: Any) -> WalletSummary:
        periods = Periods.at(self.clock.now(), self.settings.tz)
        limits = tier_limits(self.settings.limits, row.tier)
        return WalletSummary(
            customer_id=row.customer_id,
            currency=row.currency,
            tier=row.tier,
            balance=row.balance,
            balance_cap=limits.balance_cap,
            daily_outgoing=LimitUsage(
                limit=limits.daily_outgoing,
                used=row.out_day_total if row.out_day == periods.day else 0,
                resets_at=periods.day_resets_at,
            ),
            monthly_incoming=LimitUsage(
                limit=limits.monthly_incoming,
                used=row.in_month_total if row.in_month == periods.month else 0,
                resets_at=periods.month_resets_at,
            ),
            locked=row.locked,
            frozen=row.frozen,
        )

    def set_tier(self, customer_id: int, tier: str) -> WalletSummary:
        if tier not in TIERS:
            raise ValidationFailed(f"tier must be one of {', '.join(TIERS)}", field="tier")
        with self.db.transaction() as s:
            self._update_wallet_flags(s, customer_id, tier=tier)
        return self.summary(customer_id)

    def set_restrictions(
        self, customer_id: int, *, locked: bool | None = None, frozen: bool | None = None
    ) -> WalletSummary:
        with self.db.transaction() as s:
            self.set_restrictions_in(s, customer_id, locked=locked, frozen=frozen)
        return self.summary(customer_id)

    def set_restrictions_in(
        self, s: Session, customer_id: int, *, locked: bool | None = None, frozen: bool | None = None
    ) -> None:
        """Mirror a lock or freeze from identity, inside the caller's unit of work."""
        values = {k: v for k, v in {"locked": locked, "frozen": frozen}.items() if v is not None}
        if values:
            self._update_wallet_flags(s, customer_id, **values)

    def _update_wallet_flags(self, s: Session, customer_id: int, **values: Any) -> None:
        result = s.execute(
            update(_accounts).where(_accounts.c.customer_id == customer_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound("wallet not found", customer_id=customer_id)

    def _wallet_row(self, s: Session, customer_id: int) -> Any:
        row = s.execute(select(_accounts).where(_accounts.c.customer_id == customer_id)).one_or_none()
        if row is None:
            raise NotFound("wallet not found", customer_id=customer_id)
        return row

    # ---------------------------------------------------------------- the conditional updates

    def _debit_wallet(
        self, s: Session, amount: int, periods: Periods, *, account_id: int | None = None,
        customer_id: int | None = None,
    ) -> int:
        """Take `amount` out of a wallet within its balance and today's outgoing limit, in one
        conditional UPDATE. Returns the wallet's account id."""
        acc = _accounts.c
        which = acc.id == account_id if account_id is not None else acc.customer_id == customer_id
        used_today = case((acc.out_day == periods.day, acc.out_day_total), else_=0)
        daily_limit = case(
            (acc.tier == "plus", self.settings.limits.plus.daily_outgoing),
            else_=self.settings.limits.basic.daily_outgoing,
        )
        row = s.execute(
            update(_accounts)
            .where(which, acc.kind == "wallet", acc.frozen.is_(False), acc.locked.is_(False),
                   acc.balance >= amount, used_today + amount <= daily_limit)
            .values(balance=acc.balance - amount, out_day_total=used_today + amount, out_day=periods.day)
            .returning(acc.id)
        ).first()
        if row is None:
            raise self._why_debit_failed(s, which, amount, periods)
        return row.id

    def _why_debit_failed(self, s: Session, which: Any, amount: int, periods: Periods) -> Exception:
        row = s.execute(select(_accounts).where(which, _accounts.c.kind == "wallet")).one_or_none()
        if row is None:
            return NotFound("wallet not found")
        if row.frozen:
            return _Declined(FailureReason.ACCOUNT_FROZEN)
        if row.locked:
            return _Declined(FailureReason.ACCOUNT_LOCKED)
        if row.balance < amount:
            return _Declined(FailureReason.INSUFFICIENT_BALANCE, balance=row.balance, amount=amount,
                             shortfall=amount - row.balance)
        limits = tier_limits(self.settings.limits, row.tier)
        used = row.out_day_total if row.out_day == periods.day else 0
        return _Declined(FailureReason.DAILY_LIMIT_EXCEEDED, limit=limits.daily_outgoing, used=used,
                         amount=amount, remaining=max(limits.daily_outgoing - used, 0),
                         resets_at=periods.day_resets_at)

    def _credit_wallet(
        self, s: Session, account_id: int, amount: int, periods: Periods, *,
        counts_as_incoming: bool, capped: bool = True,
    ) -> None:
        """Put `amount` into a wallet within its balance cap and, for top-ups and transfers, the
        monthly incoming limit. Refunds and reversals give back what was taken: not capped."""
        acc = _accounts.c
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
        row = s.execute(update(_accounts).where(*conditions).values(**values).returning(acc.id)).first()
        if row is None:
            raise self._why_credit_failed(s, account_id, amount, periods, counts_as_incoming)

    def _why_credit_failed(
        self, s: Session, account_id: int, amount: int, periods: Periods, counts_as_incoming: bool
    ) -> _Declined:
        row = s.execute(select(_accounts).where(_accounts.c.id == account_id)).one()
        limits = tier_limits(self.settings.limits, row.tier)
        used = row.in_month_total if row.in_month == periods.month else 0
        # The monthly limit first: only the 1st fixes it, while spending fixes the cap.
        if counts_as_incoming and used + amount > limits.monthly_incoming:
            return _Declined(FailureReason.MONTHLY_LIMIT_EXCEEDED, limit=limits.monthly_incoming, used=used,
                             amount=amount, remaining=max(limits.monthly_incoming - used, 0),
                             resets_at=periods.month_resets_at)
        return _Declined(FailureReason.BALANCE_CAP_EXCEEDED, cap=limits.balance_cap,
                         balance=row.balance, amount=amount,
                         room=max(limits.balance_cap - row.balance, 0))

    def _post(self, s: Session, txn_id: int, debit: int, credit: int, amount: int, now: datetime) -> None:
        s.execute(insert(_transfers).values(
            transaction_id=txn_id, debit_account_id=debit, credit_account_id=credit, amount=amount,
            currency=self.currency, created_at=now))

    def _insert_txn(
        self, s: Session, req: _Request, status: str, now: datetime, *,
        account_id: int | None = None, amount: int | None = None, failure: _Declined | None = None,
        **extra: Any,
    ) -> Any:
        """Insert the transaction row (this is where a concurrent retry meets the unique key)."""
        if account_id is None:
            account_id = req.account_id or self._wallet_id(s, req.customer_id)
        return s.execute(
            insert(_txns)
            .values(
                reference=self._new_reference(now), idempotency_key=req.key,
                request_hash=req.fingerprint, kind=req.kind, status=status, amount=amount or req.amount,
                currency=self.currency, account_id=account_id, refunded_amount=0,
                failure_reason=failure.reason.value if failure else None,
                failure_details=_jsonable(failure.details) if failure else None,
                created_at=now, updated_at=now, **extra,
            )
            .returning(*_txns.c)
        ).one()

    def _new_reference(self, now: datetime) -> str:
        local = now.astimezone(self.settings.tz)
        return "GP" + local.strftime("%y%m%d") + secrets.token_hex(5).upper()

    # ---------------------------------------------------------------- the idempotent runner

    def _run(
        self, req: _Request, attempt: Callable[[Session, datetime], Any],
        declined_extra: dict[str, Any] | None = None,
    ) -> TransactionView:
        """Run `attempt` in one unit of work keyed by the request's idempotency key.

        `attempt` returns the transaction row it inserted. Whatever goes wrong, a transaction
        already stored under the same key wins: it is returned if its parameters match, and
        IdempotencyConflict is raised if they do not."""
        _check_key(req.key)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = attempt(s, now)
                return self._views(s, [row], perspective=None)[0]
        except _Declined as declined:
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

    def _existing_or_raise(self, req: _Request, exc: IntegrityError) -> TransactionView:
        existing = self._existing(req)
        if existing is None:
            raise exc
        return existing

    def _existing(self, req: _Request) -> TransactionView | None:
        with self.db.read() as s:
            row = s.execute(select(_txns).where(_txns.c.idempotency_key == req.key)).one_or_none()
            if row is None:
                return None
            if row.request_hash != req.fingerprint:
                raise IdempotencyConflict(
                    "this idempotency key was already used for a different request",
                    idempotency_key=req.key, reference=row.reference,
                )
            return self._views(s, [row], perspective=None)[0]

    def _wallet_id(self, s: Session, customer_id: int | None) -> int:
        acc_id = s.execute(
            select(_accounts.c.id).where(_accounts.c.customer_id == customer_id)
        ).scalar_one_or_none()
        if acc_id is None:
            raise NotFound("wallet not found", customer_id=customer_id)
        return acc_id

    def _original(self, s: Session, reference: str) -> Any:
        row = s.execute(select(_txns).where(_txns.c.reference == reference)).one_or_none()
        if row is None:
            raise NotFound("transaction not found", reference=reference)
        return row

    # ---------------------------------------------------------------- operations

    def topup(
        self, customer_id: int, amount: int, method: str, idempotency_key: str, *, pending: bool = False
    ) -> TransactionView:
        _check_amount(amount)
        if method not in TOPUP_METHODS:
            raise ValidationFailed(f"method must be one of {', '.join(TOPUP_METHODS)}", field="method")
        req = _Request("topup", idempotency_key, amount, {"method": method, "pending": pending},
                       customer_id=customer_id)

        def attempt(s: Session, now: datetime) -> Any:
            wallet = self._wallet_id(s, customer_id)
            if pending:
                # The bank has the money; it reaches the wallet when the provider confirms.
                return self._insert_txn(s, req, "pending", now, account_id=wallet, method=method)
            self._credit_wallet(s, wallet, amount, Periods.at(now, self.settings.tz), counts_as_incoming=True)
            row = self._insert_txn(s, req, "succeeded", now, account_id=wallet, method=method)
            self._post(s, row.id, self.platform_account("float"), wallet, amount, now)
            return row

        return self._run(req, attempt, {"method": method})

    def pay_merchant(
        self, customer_id: int, merchant_id: int, amount: int, idempotency_key: str, *,
        channel: str = "qr", via_provider: bool = False, description: str | None = None,
    ) -> TransactionView:
        _check_amount(amount)
        if channel not in PAYMENT_CHANNELS:
            raise ValidationFailed(f"channel must be one of {', '.join(PAYMENT_CHANNELS)}", field="channel")
        req = _Request("payment", idempotency_key, amount,
                       {"merchant": merchant_id, "channel": channel, "via_provider": via_provider},
                       customer_id=customer_id)
        extra: dict[str, Any] = {"merchant_id": merchant_id, "method": channel, "description": description}

        def attempt(s: Session, now: datetime) -> Any:
            merchant = s.execute(
                select(Merchant.account_id, Merchant.status).where(Merchant.id == merchant_id)
            ).one_or_none()
            if merchant is None:
                raise NotFound("merchant not found", merchant_id=merchant_id)
            extra["counterparty_account_id"] = merchant.account_id
            if merchant.status != "active":
                raise _Declined(FailureReason.MERCHANT_UNAVAILABLE, merchant_id=merchant_id)
            if amount > self.settings.risk_max_single_payment:
                raise _Declined(FailureReason.RISK_DECLINED, rule="max_single_payment",
                                limit=self.settings.risk_max_single_payment, amount=amount)
            wallet = self._debit_wallet(s, amount, Periods.at(now, self.settings.tz), customer_id=customer_id)
            # Online checkout through a provider: the money waits in suspense until it confirms.
            status, credit = ("pending", self.platform_account("suspense")) if via_provider \
                else ("succeeded", merchant.account_id)
            row = self._insert_txn(s, req, status, now, account_id=wallet, **extra)
            self._post(s, row.id, wallet, credit, amount, now)
            return row

        return self._run(req, attempt, extra)

    def transfer(
        self, from_customer_id: int, to_customer_id: int, amount: int, idempotency_key: str
    ) -> TransactionView:
        _check_amount(amount)
        if from_customer_id == to_customer_id:
            raise ValidationFailed("cannot transfer to yourself", field="to_customer_id")
        req = _Request("p2p", idempotency_key, amount, {"to": to_customer_id}, customer_id=from_customer_id)
        extra: dict[str, Any] = {}

        def attempt(s: Session, now: datetime) -> Any:
            sender = self._wallet_row(s, from_customer_id)
            recipient = self._wallet_id(s, to_customer_id)
            extra["counterparty_account_id"] = recipient
            if sender.tier != "plus":
                raise _Declined(FailureReason.KYC_UPGRADE_REQUIRED, required_tier="plus", tier=sender.tier)
            periods = Periods.at(now, self.settings.tz)
            # Fixed lock order: the lower account id first.
            steps: list[tuple[int, Callable[[], object]]] = [
                (sender.id, lambda: self._debit_wallet(s, amount, periods, account_id=sender.id)),
                (recipient, lambda: self._credit_recipient(s, recipient, amount, periods)),
            ]
            for _, step in sorted(steps, key=lambda item: item[0]):
                step()
            row = self._insert_txn(s, req, "succeeded", now, account_id=sender.id, **extra)
            self._post(s, row.id, sender.id, recipient, amount, now)
            return row

        return self._run(req, attempt, extra)

    def _credit_recipient(self, s: Session, account_id: int, amount: int, periods: Periods) -> None:
        try:
            self._credit_wallet(s, account_id, amount, periods, counts_as_incoming=True)
        except _Declined as declined:
            raise _Declined(declined.reason, party="recipient", **declined.details) from None

    def withdraw(
        self, customer_id: int, amount: int, bank_account: str, idempotency_key: str
    ) -> TransactionView:
        _check_amount(amount)
        digits = "".join(ch for ch in bank_account if ch.isdigit())
        if len(digits) < 6:
            raise ValidationFailed("bank account number looks wrong", field="bank_account")
        fee = self.settings.withdrawal_fee
        req = _Request("withdrawal", idempotency_key, amount, {"bank_account": digits},
                       customer_id=customer_id)
        extra = {"method": "bank", "description": f"bank account ****{digits[-4:]}, fee {fee}"}

        def attempt(s: Session, now: datetime) -> Any:
            wallet = self._wallet_row(s, customer_id)
            if wallet.tier != "plus":
                raise _Declined(FailureReason.KYC_UPGRADE_REQUIRED, required_tier="plus", tier=wallet.tier)
            self._debit_wallet(s, amount + fee, Periods.at(now, self.settings.tz), account_id=wallet.id)
            row = self._insert_txn(s, req, "pending", now, account_id=wallet.id, **extra)
            self._post(s, row.id, wallet.id, self.platform_account("suspense"), amount, now)
            if fee:
                self._post(s, row.id, wallet.id, self.platform_account("fees"), fee, now)
            return row

        return self._run(req, attempt, extra)

    def refund(
        self, original_reference: str, amount: int, idempotency_key: str, *, reason: str | None = None
    ) -> TransactionView:
        _check_amount(amount)
        req = _Request("refund", idempotency_key, amount, {"original": original_reference})

        def attempt(s: Session, now: datetime) -> Any:
            original = self._original(s, original_reference)
            if original.kind != "payment":
                raise Conflict("only merchant payments can be refunded", code="not_refundable",
                               reference=original_reference, kind=original.kind)
            claimed = s.execute(
                update(_txns)
                .where(_txns.c.id == original.id, _txns.c.status == "succeeded",
                       _txns.c.refunded_amount + amount <= _txns.c.amount)
                .values(refunded_amount=_txns.c.refunded_amount + amount, updated_at=now)
                .returning(_txns.c.refunded_amount)
            ).first()
            if claimed is None:
                current = s.execute(
                    select(_txns.c.status, _txns.c.amount, _txns.c.refunded_amount)
                    .where(_txns.c.id == original.id)
                ).one()
                if current.status != "succeeded":
                    raise Conflict("only a succeeded payment can be refunded", code="not_refundable",
                                   status=current.status)
                raise Conflict("refund is more than what is left of the original payment",
                               code="refund_exceeds_original", amount=amount,
                               refundable=current.amount - current.refunded_amount)
            # Money goes back where it came from: from the merchant to the paying wallet.
            self._credit_wallet(s, original.account_id, amount, Periods.at(now, self.settings.tz),
                                counts_as_incoming=False, capped=False)
            row = self._insert_txn(
                s, req, "succeeded", now, account_id=original.account_id, original_id=original.id,
                merchant_id=original.merchant_id, counterparty_account_id=original.counterparty_account_id,
                description=(reason or "")[:200] or None,
            )
            self._post(s, row.id, original.counterparty_account_id, original.account_id, amount, now)
            return row

        return self._run(req, attempt)

    def credit_cashback(
        self, customer_id: int, amount: int, idempotency_key: str, *, campaign: str,
        original_reference: str | None = None,
    ) -> TransactionView:
        _check_amount(amount)
        req = _Request("cashback", idempotency_key, amount,
                       {"campaign": campaign, "original": original_reference}, customer_id=customer_id)
        extra: dict[str, Any] = {"method": "cashback", "description": campaign[:200]}

        def attempt(s: Session, now: datetime) -> Any:
            if original_reference:
                extra["original_id"] = self._original(s, original_reference).id
            wallet = self._wallet_id(s, customer_id)
            self._credit_wallet(s, wallet, amount, Periods.at(now, self.settings.tz), counts_as_incoming=False)
            row = self._insert_txn(s, req, "succeeded", now, account_id=wallet, **extra)
            self._post(s, row.id, self.platform_account("cashback"), wallet, amount, now)
            return row

        return self._run(req, attempt, extra)

    def reverse(self, reference: str, idempotency_key: str) -> TransactionView:
        """Give back a payment that was debited but failed (its money waits in suspense)."""
        # The amount is what the original held; it is not part of the request.
        req = _Request("reversal", idempotency_key, 1, {"original": reference})

        def attempt(s: Session, now: datetime) -> Any:
            original = self._original(s, reference)
            held = s.execute(
                select(_transfers.c.amount).where(
                    _transfers.c.transaction_id == original.id,
                    _transfers.c.credit_account_id == self.platform_account("suspense"),
                )
            ).scalar_one_or_none()
            claimed = s.execute(
                update(_txns)
                .where(_txns.c.id == original.id, _txns.c.kind == "payment", _txns.c.status == "failed")
                .values(status="reversed", updated_at=now)
            ).rowcount
            if not claimed or held is None:
                raise Conflict("only a failed payment whose money was taken can be reversed",
                               code="not_reversible", reference=reference, status=original.status)
            periods = Periods.at(now, self.settings.tz)
            self._credit_wallet(s, original.account_id, held, periods, counts_as_incoming=False, capped=False)
            self._give_back_daily_usage(s, original.account_id, held, original.created_at, periods)
            row = self._insert_txn(s, req, "succeeded", now, amount=held,
                                   account_id=original.account_id, original_id=original.id,
                                   merchant_id=original.merchant_id)
            self._post(s, row.id, self.platform_account("suspense"), original.account_id, held, now)
            return row

        return self._run(req, attempt)

    def _give_back_daily_usage(
        self, s: Session, account_id: int, amount: int, spent_at: datetime, periods: Periods
    ) -> None:
        """Money that never left should not count against today's limit."""
        if Periods.at(spent_at, self.settings.tz).day != periods.day:
            return
        acc = _accounts.c
        s.execute(
            update(_accounts)
            .where(acc.id == account_id, acc.out_day == periods.day)
            .values(out_day_total=case((acc.out_day_total > amount, acc.out_day_total - amount), else_=0))
        )

    def complete(
        self, reference: str, *, succeeded: bool, failure_reason: str | None = None
    ) -> TransactionView:
        """The provider's or bank's answer for a pending top-up, payment or withdrawal.

        Safe to call twice: only a pending transaction changes; a repeat of the same outcome
        returns the current state, a contradicting one is a Conflict."""
        if not succeeded and failure_reason not in PROVIDER_REASONS:
            raise ValidationFailed(
                f"failure_reason must be one of {', '.join(sorted(PROVIDER_REASONS))}",
                field="failure_reason",
            )
        now = self.clock.now()
        target = "succeeded" if succeeded else "failed"
        with self.db.transaction() as s:
            txn = self._original(s, reference)
            claimed = s.execute(
                update(_txns).where(_txns.c.id == txn.id, _txns.c.status == "pending")
                .values(status=target, updated_at=now,
                        failure_reason=None if succeeded else failure_reason,
                        failure_details=None if succeeded else {"reported_at": now.isoformat()})
            ).rowcount
            if not claimed:
                if txn.status != target:
                    raise Conflict("this transaction is no longer pending", code="not_pending",
                                   status=txn.status)
            else:
                try:
                    self._settle(s, txn, succeeded, now)
                except _Declined as declined:
                    # A confirmed top-up that no longer fits the cap or the monthly limit fails;
                    # the provider sends the money back to the customer's bank.
                    s.execute(update(_txns).where(_txns.c.id == txn.id).values(
                        status="failed", failure_reason=declined.reason.value,
                        failure_details=_jsonable(declined.details)))
            row = s.execute(select(_txns).where(_txns.c.id == txn.id)).one()
            return self._views(s, [row], perspective=None)[0]

    def _settle(self, s: Session, txn: Any, succeeded: bool, now: datetime) -> None:
        suspense = self.platform_account("suspense")
        periods = Periods.at(now, self.settings.tz)
        if txn.kind == "topup":
            if succeeded:
                self._credit_wallet(s, txn.account_id, txn.amount, periods, counts_as_incoming=True)
                self._post(s, txn.id, self.platform_account("float"), txn.account_id, txn.amount, now)
        elif txn.kind == "payment":
            if succeeded:
                self._post(s, txn.id, suspense, txn.counterparty_account_id, txn.amount, now)
            # A failed payment keeps its money in suspense until `reverse` gives it back.
        elif txn.kind == "withdrawal":
            if succeeded:
                self._post(s, txn.id, suspense, self.platform_account("settlement"), txn.amount, now)
            else:
                # The fee is returned too: the customer paid for a withdrawal that did not happen.
                fee = s.execute(select(_transfers.c.amount).where(
                    _transfers.c.transaction_id == txn.id,
                    _transfers.c.credit_account_id == self.platform_account("fees"))).scalar_one_or_none() or 0
                self._credit_wallet(s, txn.account_id, txn.amount + fee, periods,
                                    counts_as_incoming=False, capped=False)
                self._post(s, txn.id, suspense, txn.account_id, txn.amount, now)
                if fee:
                    self._post(s, txn.id, self.platform_account("fees"), txn.account_id, fee, now)
        else:
            raise Conflict(f"{txn.kind} transactions are never pending", code="not_pending")

    def record_declined(
        self, customer_id: int, kind: str, amount: int, idempotency_key: str, *, reason: str,
        merchant_id: int | None = None, details: dict[str, Any] | None = None,
    ) -> TransactionView:
        """Record an attempt refused before it reached the ledger (a wrong PIN, say)."""
        _check_amount(amount)
        if kind not in ("payment", "p2p", "withdrawal", "topup"):
            raise ValidationFailed("kind cannot be declined this way", field="kind")
        try:
            declined = _Declined(FailureReason(reason), **(details or {}))
        except ValueError:
            raise ValidationFailed("unknown failure reason", field="reason") from None
        req = _Request(kind, idempotency_key, amount, {"merchant": merchant_id, "declined": reason},
                       customer_id=customer_id)

        def attempt(s: Session, now: datetime) -> Any:
            self._wallet_id(s, customer_id)
            raise declined

        return self._run(req, attempt, {"merchant_id": merchant_id})

    # ---------------------------------------------------------------- reads

    def get_transaction(self, reference: str) -> TransactionView:
        with self.db.read() as s:
            return self._views(s, [self._original(s, reference)], perspective=None)[0]

    def list_transactions(
        self, customer_id: int, *, limit: int = 20, before: str | None = None, status: str | None = None
    ) -> list[TransactionView]:
        if not 1 <= limit <= 200:
            raise ValidationFailed("limit must be between 1 and 200", field="limit")
        with self.db.read() as s:
            wallet = self._wallet_id(s, customer_id)
            stmt = select(_txns).where(
                or_(_txns.c.account_id == wallet,
                    and_(_txns.c.counterparty_account_id == wallet, _txns.c.kind == "p2p",
                         _txns.c.status == "succeeded"))
            )
            if status:
                stmt = stmt.where(_txns.c.status == status)
            if before:
                cursor = s.execute(select(_txns.c.id).where(_txns.c.reference == before)).scalar_one_or_none()
                if cursor is None:
                    raise ValidationFailed("unknown cursor", field="before")
                stmt = stmt.where(_txns.c.id < cursor)
            rows = s.execute(stmt.order_by(_txns.c.id.desc()).limit(limit)).all()
            return self._views(s, rows, perspective=wallet)

    def overdue_pending(self, *, limit: int = 100) -> list[TransactionView]:
        cutoff = self.clock.now() - timedelta(minutes=self.settings.pending_too_long_minutes)
        with self.db.read() as s:
            rows = s.execute(
                select(_txns).where(_txns.c.status == "pending", _txns.c.created_at < cutoff)
                .order_by(_txns.c.created_at).limit(limit)
            ).all()
            return self._views(s, rows, perspective=None)

    def _views(self, s: Session, rows: list[Any], *, perspective: int | None) -> list[TransactionView]:
        merchant_ids = {r.merchant_id for r in rows if r.merchant_id}
        original_ids = {r.original_id for r in rows if r.original_id}
        names = dict(s.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids))).all()) \
            if merchant_ids else {}
        originals = dict(s.execute(select(_txns.c.id, _txns.c.reference).where(_txns.c.id.in_(original_ids))).all()) \
            if original_ids else {}
        overdue_before = self.clock.now() - timedelta(minutes=self.settings.pending_too_long_minutes)
        views = []
        for r in rows:
            incoming = r.kind in ("topup", "refund", "cashback", "reversal") or (
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
