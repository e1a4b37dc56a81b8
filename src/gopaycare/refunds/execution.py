"""Paying an approved request: exactly once, back where the money came from, with the cashback clawed back.

Each step is safe to repeat, so a crash or a second caller (50 approvals at once, the sweep after a lost
job) doubles nothing:
1. `approved` → `processing` is one conditional update: one caller claims it (the sweep resumes a
   request left in `processing`);
2. the wallet moves the money under the request's own idempotency key (`refund-request-<id>`): a
   refund of a succeeded payment, or the reversal of a failed one whose money was taken;
3. the cashback the payment earned is clawed back in proportion, under `refund-clawback-<id>`, never
   below zero (a shortfall is recorded, not forced), and stored once per request;
4. `processing` → `refunded` is one conditional update: the timeline's step is written once.
A refusal by the wallet (nothing left to refund: concurrent partial refunds) rejects the request with
a reason the customer can read, and no money moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict
from ..wallet.port import WalletBackend
from . import timeline
from .models import RefundClawback, RefundRequest


def refund_key(request_id: int) -> str:
    return f"refund-request-{request_id}"


def clawback_key(request_id: int) -> str:
    return f"refund-clawback-{request_id}"


class Execution:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend,
                 notice: Callable[[int, str], None]) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet
        self.notice = notice

    def run(self, request_id: int, *, resume: bool = False) -> Any:
        from .service import view  # the view lives with the service

        now = self.clock.now()
        with self.db.transaction() as s:
            # One statement claims the request and reads what paying it needs; the sweep resumes one
            # left in `processing` (its step is on the timeline already).
            row = self._claim(s, request_id, "approved", now)
            if row is not None:
                timeline.step(s, request_id, status="processing", step="processing", actor=Actor.system(), now=now)
            elif resume:
                row = self._claim(s, request_id, "processing", now)
            if row is None:
                current = s.get(RefundRequest, request_id)
                return view(current) if current is not None else None
            reference, amount, customer_id = row.transaction_reference, row.amount, row.customer_id
        try:
            try:
                paid = self.wallet.refund(reference, amount, refund_key(request_id), reason=f"RR{request_id}")
            except Conflict as refused:
                failed_payment = refused.code == "not_refundable" and \
                    refused.details.get("status") in ("failed", "reversed")
                # A retry after the reversal: the key holds the reversal (which `reverse` answers again).
                if not failed_payment and refused.code != "idempotency_key_reused":
                    raise
                # A failed payment whose money was taken: its reversal gives all of it back.
                paid = self.wallet.reverse(reference, refund_key(request_id), actor=Actor.system(),
                                           reason=f"refund request RR{request_id}")
        except Conflict as refused:
            code = "nothing_taken" if refused.code == "not_reversible" else "nothing_left"
            return self._reject(request_id, code, refused.code)
        if paid.status != "succeeded":
            return self._reject(request_id, "nothing_left", paid.failure_reason or "failed")
        claw = self._claw_back(request_id, customer_id, reference, amount) if paid.kind == "refund" else None
        now = self.clock.now()
        with self.db.transaction() as s:
            # The row comes back with the update (no second read); None: another run finished it.
            finished = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status == "processing")
                .values(status="refunded", refund_reference=paid.reference, updated_at=now)
                .returning(RefundRequest)).scalar_one_or_none()
            done = finished is not None
            if done:
                timeline.step(s, request_id, status="refunded", step="refunded", actor=Actor.system(), now=now,
                              amount=paid.amount, refund_reference=paid.reference)
                if claw is not None:
                    timeline.step(s, request_id, status="refunded", step="clawed_back", actor=Actor.system(),
                                  now=now, due=claw["due"], taken=claw["taken"], shortfall=claw["shortfall"])
            result = view(finished if finished is not None else s.get(RefundRequest, request_id))
        if done:
            self.notice(request_id, "refunded")
        return result

    @staticmethod
    def _claim(s: Any, request_id: int, status: str, now: Any) -> Any:
        return s.execute(update(RefundRequest).where(RefundRequest.id == request_id, RefundRequest.status == status)
                         .values(status="processing", updated_at=now)
                         .returning(RefundRequest.transaction_reference, RefundRequest.amount,
                                    RefundRequest.customer_id)).first()

    def _reject(self, request_id: int, code: str, why: str) -> Any:
        from .service import view

        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status == "processing")
                .values(status="rejected", rejection_code=code, updated_at=now)).rowcount
            if moved:
                timeline.step(s, request_id, status="rejected", step="rejected", actor=Actor.system(), now=now,
                              reason=f"wallet refused: {why}", rejection_code=code)
            result = view(s.get(RefundRequest, request_id))
        if moved:
            self.notice(request_id, "rejected")
        return result

    def _claw_back(self, request_id: int, customer_id: int, reference: str, amount: int) -> dict[str, Any] | None:
        """The payment's credited cashback, in proportion to this refund (rounded down, so all of a
        payment's clawbacks never add up to more than its cashback)."""
        cashback = sum(c.amount for c in self.wallet.derived_from(reference, "cashback") if c.status == "succeeded")
        if not cashback:
            return None  # the common case: one read, nothing to take back
        if (existing := self.clawback_of(request_id)) is not None:
            return existing
        payment = self.wallet.get_transaction(reference)
        due = cashback * amount // payment.amount
        if due <= 0:
            return None
        taken_txn = self.wallet.claw_back_cashback(customer_id, due, clawback_key(request_id),
                                                   original_reference=payment.reference)
        taken = taken_txn.amount if taken_txn.status == "succeeded" else 0
        try:
            with self.db.transaction() as s:
                s.add(RefundClawback(request_id=request_id, payment_reference=payment.reference, due=due, taken=taken,
                                     shortfall=due - taken, created_at=self.clock.now(),
                                     wallet_reference=taken_txn.reference if taken else None))
        except IntegrityError:
            pass  # a concurrent run stored the same clawback (the wallet's key made it one)
        return self.clawback_of(request_id)

    def clawback_of(self, request_id: int) -> dict[str, Any] | None:
        with self.db.read() as s:
            row = s.execute(select(RefundClawback).where(RefundClawback.request_id == request_id)).scalar_one_or_none()
            if row is None:
                return None
            return {"due": row.due, "taken": row.taken, "shortfall": row.shortfall,
                    "wallet_reference": row.wallet_reference}
