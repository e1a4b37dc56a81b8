"""Apply a provider's callback to the wallet once.

1. The event is stored under (provider, event id) — a unique constraint. A redelivery finds its row: a
   processed one answers as before (its delivery counted); one left half-way (a crash, or a copy
   delivered at the same moment) goes on from where it is, which is safe because every step is.
2. The transaction is looked up by the reference the provider echoes. Unknown, not a payment or top-up,
   another amount or currency, or already final: recorded as such, nothing moves.
3. A pending one is claimed: `settles_reference` takes the reference (unique), so of two events about one
   payment only one settles it; the claim commits before the wallet is called (ADR 0007: never call the
   wallet inside our unit of work).
4. `WalletBackend.complete` settles or fails it; it changes only a pending transaction, so a repeat
   cannot move money twice. The callback is marked applied with the status the wallet reports, and a
   succeeded payment is handed to `on_paid` (the cashback award, ADR 0006) after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound
from ..wallet.port import TransactionView, WalletBackend
from .models import PaymentCallback
from .providers import ProviderEvent

log = logging.getLogger(__name__)

SETTLED_BY_PROVIDERS = ("payment", "topup")
# Why the wallet fails a top-up its provider confirmed (wallet `complete`).
WALLET_DECLINES = ("BALANCE_CAP_EXCEEDED", "MONTHLY_LIMIT_EXCEEDED")


@dataclass(frozen=True)
class CallbackResult:
    id: int
    provider: str
    event_id: str
    result: str
    transaction_status: str | None
    duplicate: bool


class PaymentCallbacks:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, currency: str) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet
        self.currency = currency
        # Set by the jobs: a payment the provider confirmed goes to the cashback award.
        self.on_paid: Callable[[int, str], object] | None = None

    def take(self, event: ProviderEvent) -> CallbackResult:
        row = self._record(event)
        if row.result != "received":
            return self._result(row, duplicate=True)
        if event.outcome == "none" or not event.reference:
            return self._finish(row, "ignored", None)
        try:
            txn = self.wallet.get_transaction(event.reference)
        except NotFound:
            log.warning("payment callback %s/%s for an unknown transaction", event.provider, row.id)
            return self._finish(row, "unknown_payment", None)
        if txn.kind not in SETTLED_BY_PROVIDERS:
            return self._finish(row, "not_applicable", txn.status)
        if event.amount != txn.amount or (event.currency or self.currency) != txn.currency:
            log.warning("payment callback %s/%s: amount %s %s, the transaction's %s %s", event.provider, row.id,
                        event.amount, event.currency, txn.amount, txn.currency)
            return self._finish(row, "amount_mismatch", txn.status)
        if txn.status == "pending":
            mine = self._claim(row.id, txn.reference)
        else:
            # Settled already: by this event (a copy delivered at the same moment, or a try a crash cut
            # short, holds the claim) or by something else.
            mine = self._claimed(row.id) == txn.reference
        if not mine:
            return self._finish(row, "already_final", txn.status)
        if txn.status == "pending":
            try:
                txn = self.wallet.complete(txn.reference, succeeded=event.outcome == "succeeded",
                                           failure_reason=event.failure_reason)
            except Conflict:
                txn = self.wallet.get_transaction(txn.reference)
                if not self._ours(event, txn):  # settled the other way meanwhile (an internal call)
                    return self._finish(row, "already_final", txn.status, unclaim=True)
        finished = self._finish(row, "applied", txn.status)
        if not finished.duplicate and txn.kind == "payment" and txn.status == "succeeded":
            self._paid(txn)
        return finished

    @staticmethod
    def _ours(event: ProviderEvent, txn: TransactionView) -> bool:
        """Whether a copy of this event settled `txn`: the status it asked for, or a confirmed top-up
        the wallet refused (the cap, the monthly limit: failed although the provider said succeeded)."""
        if txn.status == event.outcome:
            return True
        return event.outcome == "succeeded" and txn.status == "failed" and txn.failure_reason in WALLET_DECLINES

    def _paid(self, txn: TransactionView) -> None:
        customer_id = self.wallet.owner_of(txn.reference)
        if self.on_paid is not None and customer_id is not None:
            self.on_paid(customer_id, txn.reference)

    # ---------------------------------------------------------------- the callback's row

    def _record(self, event: ProviderEvent) -> PaymentCallback:
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = PaymentCallback(provider=event.provider, event_id=event.event_id, reference=event.reference,
                                      outcome=event.outcome, amount=event.amount, result="received", deliveries=1,
                                      received_at=now)
                s.add(row)
                s.flush()
                return row
        except IntegrityError:
            pass
        with self.db.transaction() as s:
            s.execute(update(PaymentCallback).where(PaymentCallback.provider == event.provider,
                                                    PaymentCallback.event_id == event.event_id)
                      .values(deliveries=PaymentCallback.deliveries + 1))
            row = s.execute(select(PaymentCallback).where(PaymentCallback.provider == event.provider,
                                                          PaymentCallback.event_id == event.event_id)).scalar_one()
            return row

    def _claimed(self, callback_id: int) -> str | None:
        with self.db.read() as s:
            return s.execute(select(PaymentCallback.settles_reference)
                             .where(PaymentCallback.id == callback_id)).scalar_one()

    def _claim(self, callback_id: int, reference: str) -> bool:
        """This callback settles `reference`: true when it (or a copy of it) holds the claim."""
        try:
            with self.db.transaction() as s:
                s.execute(update(PaymentCallback).where(PaymentCallback.id == callback_id,
                                                        PaymentCallback.settles_reference.is_(None))
                          .values(settles_reference=reference))
                # The same unit of work: a copy that claimed first is seen here (its row lock was waited for).
                holder = s.execute(select(PaymentCallback.settles_reference)
                                   .where(PaymentCallback.id == callback_id)).scalar_one()
        except IntegrityError:
            return False  # another event about this transaction holds it
        return holder == reference

    def _finish(self, row: PaymentCallback, result: str, status: str | None, *,
                unclaim: bool = False) -> CallbackResult:
        """Marks the callback processed, once: a copy that loses this race answers as a duplicate."""
        values: dict[str, object] = {"result": result, "transaction_status": status,
                                     "processed_at": self.clock.now()}
        if unclaim:
            values["settles_reference"] = None
        with self.db.transaction() as s:
            won = s.execute(update(PaymentCallback).where(PaymentCallback.id == row.id,
                                                          PaymentCallback.result == "received")
                            .values(**values)).rowcount
            current = s.execute(select(PaymentCallback).where(PaymentCallback.id == row.id)).scalar_one()
        # Of copies of one event delivered together, the one that records the outcome answers for it.
        return self._result(current, duplicate=not won)

    @staticmethod
    def _result(row: PaymentCallback, *, duplicate: bool) -> CallbackResult:
        return CallbackResult(row.id, row.provider, row.event_id, row.result, row.transaction_status, duplicate)
