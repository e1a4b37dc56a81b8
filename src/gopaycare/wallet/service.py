"""The reference wallet's money operations: every operation of `WalletBackend`.

The safety rules they share (conditional updates, idempotency keys, lock order, declines) are
described in `ledger.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .accounts import WalletAccounts
from .fastpay import FastPayments
from .ledger import (
    ACCOUNTS,
    TRANSFERS,
    TXNS,
    Declined,
    MoneyRequest,
    check_amount,
    check_key,
    jsonable,
)
from .models import Merchant
from .port import TransactionView
from .provisional import ProvisionalCredits
from .queries import WalletQueries
from .rules import (
    PAYMENT_CHANNELS,
    PROVIDER_REASONS,
    TOPUP_METHODS,
    FailureReason,
    Periods,
)


class ReferenceWallet(WalletAccounts, WalletQueries, ProvisionalCredits):
    """The reference implementation of `WalletBackend` on our own ledger tables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PostgreSQL runs the common QR payment as one statement (fastpay.py).
        self._fast = FastPayments(self.db.engine) if self.db.dialect == "postgresql" else None

    def topup(
        self, customer_id: int, amount: int, method: str, idempotency_key: str, *, pending: bool = False
    ) -> TransactionView:
        check_amount(amount)
        if method not in TOPUP_METHODS:
            raise ValidationFailed(f"method must be one of {', '.join(TOPUP_METHODS)}", field="method")
        req = MoneyRequest("topup", idempotency_key, amount, {"method": method, "pending": pending},
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
        req = self._payment_request(customer_id, merchant_id, amount, idempotency_key, channel, via_provider)
        if self._fast is not None and not via_provider and amount <= self.settings.risk_max_single_payment:
            check_key(idempotency_key)
            if (view := self._fast_payment(req, merchant_id, channel, description)) is not None:
                return view
        extra: dict[str, Any] = {"merchant_id": merchant_id, "method": channel, "description": description}

        def attempt(s: Session, now: datetime) -> Any:
            merchant = s.execute(
                select(Merchant.account_id, Merchant.status).where(Merchant.id == merchant_id)
            ).one_or_none()
            if merchant is None:
                raise NotFound("merchant not found", merchant_id=merchant_id)
            extra["counterparty_account_id"] = merchant.account_id
            if merchant.status != "active":
                raise Declined(FailureReason.MERCHANT_UNAVAILABLE, merchant_id=merchant_id)
            if amount > self.settings.risk_max_single_payment:
                raise Declined(FailureReason.RISK_DECLINED, rule="max_single_payment",
                                limit=self.settings.risk_max_single_payment, amount=amount)
            wallet = self._debit_wallet(s, amount, Periods.at(now, self.settings.tz), customer_id=customer_id)
            # Online checkout through a provider: the money waits in suspense until it confirms.
            status, credit = ("pending", self.platform_account("suspense")) if via_provider \
                else ("succeeded", merchant.account_id)
            row = self._insert_txn(s, req, status, now, account_id=wallet, **extra)
            self._post(s, row.id, wallet, credit, amount, now)
            return row

        return self._run(req, attempt, extra)

    def _fast_payment(self, req: MoneyRequest, merchant_id: int, channel: str,
                      description: str | None) -> TransactionView | None:
        now = self.clock.now()
        limits = self.settings.limits
        reference = self._new_reference(now)
        try:
            row = self._fast.pay({  # type: ignore[union-attr]
                "merchant_id": merchant_id, "customer_id": req.customer_id, "amount": req.amount,
                "day": Periods.at(now, self.settings.tz).day, "plus_daily": limits.plus.daily_outgoing,
                "basic_daily": limits.basic.daily_outgoing, "reference": reference, "key": req.key,
                "request_hash": req.fingerprint, "currency": self.currency, "method": channel,
                "description": description, "now": now,
            })
        except IntegrityError as exc:
            return self._existing_or_raise(req, exc)
        if row is None:
            return None
        return TransactionView(
            reference=reference, kind="payment", status="succeeded", amount=req.amount, currency=self.currency,
            created_at=now, updated_at=now, method=channel, merchant_id=merchant_id, merchant_name=row.name,
            description=description,
        )

    def _fast_refund(self, req: MoneyRequest, original_reference: str, reason: str | None) -> TransactionView | None:
        """PostgreSQL: the common refund as one statement (fastpay.py); None when the general path decides."""
        now = self.clock.now()
        reference = self._new_reference(now)
        description = (reason or "")[:200] or None
        try:
            row = self._fast.refund({  # type: ignore[union-attr]
                "original": original_reference, "amount": req.amount, "reference": reference, "key": req.key,
                "request_hash": req.fingerprint, "currency": self.currency, "description": description, "now": now,
            })
        except IntegrityError as exc:
            return self._existing_or_raise(req, exc)
        if row is None:
            return None
        return TransactionView(
            reference=reference, kind="refund", status="succeeded", amount=req.amount, currency=self.currency,
            created_at=now, updated_at=now, merchant_id=row.merchant_id, merchant_name=row.name,
            description=description, original_reference=original_reference, direction="in",
        )

    def transfer(
        self, from_customer_id: int, to_customer_id: int, amount: int, idempotency_key: str
    ) -> TransactionView:
        check_amount(amount)
        if from_customer_id == to_customer_id:
            raise ValidationFailed("cannot transfer to yourself", field="to_customer_id")
        req = MoneyRequest("p2p", idempotency_key, amount, {"to": to_customer_id}, customer_id=from_customer_id)
        extra: dict[str, Any] = {}

        def attempt(s: Session, now: datetime) -> Any:
            sender = self._wallet_row(s, from_customer_id)
            recipient = self._wallet_id(s, to_customer_id)
            extra["counterparty_account_id"] = recipient
            if sender.tier != "plus":
                raise Declined(FailureReason.KYC_UPGRADE_REQUIRED, required_tier="plus", tier=sender.tier)
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
        except Declined as declined:
            raise Declined(declined.reason, party="recipient", **declined.details) from None

    def withdraw(
        self, customer_id: int, amount: int, bank_account: str, idempotency_key: str
    ) -> TransactionView:
        check_amount(amount)
        digits = "".join(ch for ch in bank_account if ch.isdigit())
        if len(digits) < 6:
            raise ValidationFailed("bank account number looks wrong", field="bank_account")
        fee = self.settings.withdrawal_fee
        req = MoneyRequest("withdrawal", idempotency_key, amount, {"bank_account": digits},
                       customer_id=customer_id)
        extra = {"method": "bank", "description": f"bank account ****{digits[-4:]}, fee {fee}"}

        def attempt(s: Session, now: datetime) -> Any:
            wallet = self._wallet_row(s, customer_id)
            if wallet.tier != "plus":
                raise Declined(FailureReason.KYC_UPGRADE_REQUIRED, required_tier="plus", tier=wallet.tier)
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
        check_amount(amount)
        req = MoneyRequest("refund", idempotency_key, amount, {"original": original_reference})
        if self._fast is not None and isinstance(original_reference, str):
            check_key(idempotency_key)
            if (view := self._fast_refund(req, original_reference, reason)) is not None:
                return view

        def attempt(s: Session, now: datetime) -> Any:
            original = self._original(s, original_reference)
            if original.kind != "payment":
                raise Conflict("only merchant payments can be refunded", code="not_refundable",
                               reference=original_reference, kind=original.kind)
            claimed = s.execute(
                update(TXNS)
                .where(TXNS.c.id == original.id, TXNS.c.status == "succeeded",
                       TXNS.c.refunded_amount + amount <= TXNS.c.amount)
                .values(refunded_amount=TXNS.c.refunded_amount + amount, updated_at=now)
                .returning(TXNS.c.refunded_amount)
            ).first()
            if claimed is None:
                current = s.execute(
                    select(TXNS.c.status, TXNS.c.amount, TXNS.c.refunded_amount)
                    .where(TXNS.c.id == original.id)
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
        check_amount(amount)
        req = MoneyRequest("cashback", idempotency_key, amount,
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

    def claw_back_cashback(
        self, customer_id: int, amount: int, idempotency_key: str, *, original_reference: str,
    ) -> TransactionView:
        """Take back up to `amount` of cashback (a refunded payment's), never below zero: what the
        wallet holds is taken and the rest is left as a shortfall, in `failure_details`. An empty
        wallet gives a failed clawback (no money moved) under the same key, so a retry takes nothing
        later either: what was not there when the refund was paid is a recorded shortfall, not a debt.
        No limit applies (it is no spending) and a frozen wallet is clawed back like any other."""
        check_amount(amount)
        req = MoneyRequest("clawback", idempotency_key, amount, {"original": original_reference},
                           customer_id=customer_id)
        extra: dict[str, Any] = {"method": "cashback"}

        def attempt(s: Session, now: datetime) -> Any:
            original = self._original(s, original_reference)
            extra["original_id"] = original.id
            wallet = s.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.balance).where(
                ACCOUNTS.c.customer_id == customer_id).with_for_update()).one_or_none()
            if wallet is None:
                raise NotFound("wallet not found", customer_id=customer_id)
            taken = min(wallet.balance, amount)
            details = {"due": amount, "taken": taken, "shortfall": amount - taken}
            if taken == 0:
                raise Declined(FailureReason.INSUFFICIENT_BALANCE, **details)
            # The row is locked: the balance read is the balance the update sees.
            s.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == wallet.id, ACCOUNTS.c.balance >= taken)
                      .values(balance=ACCOUNTS.c.balance - taken))
            row = self._insert_txn(s, req, "succeeded", now, account_id=wallet.id, amount=taken,
                                   failure_details=details, **extra)
            self._post(s, row.id, wallet.id, self.platform_account("cashback"), taken, now)
            return row

        return self._run(req, attempt, extra)

    def reverse(self, reference: str, idempotency_key: str, *, actor: Actor, reason: str) -> TransactionView:
        """Give back a payment that was debited but failed (its money waits in suspense).

        Who and why are audited in the same unit of work as the money. They are not part of
        the request's fingerprint: a retry by the same caller with other words is the same
        reversal, and the first request's audit row stands."""
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise ValidationFailed("a reason is required to reverse a payment", field="reason")
        # The amount is what the original held; it is not part of the request.
        req = MoneyRequest("reversal", idempotency_key, 1, {"original": reference})

        def attempt(s: Session, now: datetime) -> Any:
            original = self._original(s, reference)
            held = s.execute(
                select(TRANSFERS.c.amount).where(
                    TRANSFERS.c.transaction_id == original.id,
                    TRANSFERS.c.credit_account_id == self.platform_account("suspense"),
                )
            ).scalar_one_or_none()
            claimed = s.execute(
                update(TXNS)
                .where(TXNS.c.id == original.id, TXNS.c.kind == "payment", TXNS.c.status == "failed")
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
            audit.record(s, at=now, actor=actor, action="wallet.reversed", subject_type="transaction",
                         subject_id=reference, reason=reason[:200], reversal=row.reference, amount=held)
            return row

        return self._run(req, attempt)

    def _give_back_daily_usage(
        self, s: Session, account_id: int, amount: int, spent_at: datetime, periods: Periods
    ) -> None:
        """Money that never left should not count against today's limit."""
        if Periods.at(spent_at, self.settings.tz).day != periods.day:
            return
        acc = ACCOUNTS.c
        s.execute(
            update(ACCOUNTS)
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
                update(TXNS).where(TXNS.c.id == txn.id, TXNS.c.status == "pending")
                .values(status=target, updated_at=now,
                        failure_reason=None if succeeded else failure_reason,
                        failure_details=None if succeeded else {"reported_at": now.isoformat()})
            ).rowcount
            if not claimed:
                # Read again: a concurrent completion may have committed after the read above.
                now_status = s.execute(select(TXNS.c.status).where(TXNS.c.id == txn.id)).scalar_one()
                if now_status != target:
                    raise Conflict("this transaction is no longer pending", code="not_pending",
                                   status=now_status)
            else:
                try:
                    self._settle(s, txn, succeeded, now)
                except Declined as declined:
                    # A confirmed top-up that no longer fits the cap or the monthly limit fails;
                    # the provider sends the money back to the customer's bank.
                    s.execute(update(TXNS).where(TXNS.c.id == txn.id).values(
                        status="failed", failure_reason=declined.reason.value,
                        failure_details=jsonable(declined.details)))
            row = s.execute(select(TXNS).where(TXNS.c.id == txn.id)).one()
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
                fee = s.execute(select(TRANSFERS.c.amount).where(
                    TRANSFERS.c.transaction_id == txn.id,
                    TRANSFERS.c.credit_account_id == self.platform_account("fees"))).scalar_one_or_none() or 0
                self._credit_wallet(s, txn.account_id, txn.amount + fee, periods,
                                    counts_as_incoming=False, capped=False)
                self._post(s, txn.id, suspense, txn.account_id, txn.amount, now)
                if fee:
                    self._post(s, txn.id, self.platform_account("fees"), txn.account_id, fee, now)
        else:
            raise Conflict(f"{txn.kind} transactions are never pending", code="not_pending")

    def decline_payment(
        self, customer_id: int, merchant_id: int, amount: int, idempotency_key: str, *, reason: str,
        channel: str = "qr", details: dict[str, Any] | None = None,
    ) -> TransactionView:
        """Record a payment refused before it reached the ledger (a wrong PIN, say). It is stored
        under the payment's own fingerprint, so a retry of that payment with the same key returns
        this decline like any other first result."""
        try:
            declined = Declined(FailureReason(reason), **(details or {}))
        except ValueError:
            raise ValidationFailed("unknown failure reason", field="reason") from None
        req = self._payment_request(customer_id, merchant_id, amount, idempotency_key, channel, False)

        def attempt(s: Session, now: datetime) -> Any:
            self._wallet_id(s, customer_id)
            raise declined

        return self._run(req, attempt, {"merchant_id": merchant_id, "method": channel})

    @staticmethod
    def _payment_request(customer_id: int, merchant_id: int, amount: int, key: str, channel: str,
                         via_provider: bool) -> MoneyRequest:
        check_amount(amount)
        if channel not in PAYMENT_CHANNELS:
            raise ValidationFailed(f"channel must be one of {', '.join(PAYMENT_CHANNELS)}", field="channel")
        return MoneyRequest("payment", key, amount,
                            {"merchant": merchant_id, "channel": channel, "via_provider": via_provider},
                            customer_id=customer_id)
