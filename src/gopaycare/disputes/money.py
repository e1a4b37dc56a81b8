"""The money of a dispute, settled from its state, every step under its own idempotency key.

`settle` reads the case and does what is due and not yet recorded:
- a provisional credit decided at opening and not yet made: credited (`dispute-<id>-credit`);
- a case won by the customer: the merchant refunds the payment (`dispute-<id>-refund`, within what is
  left of it after other refunds), and a provisional credit is taken back (the refund replaces it);
- a case lost or withdrawn: a provisional credit is taken back (`dispute-<id>-take-back`), as much as
  the wallet holds; the rest is recorded as a shortfall, shown to the agent, never forced.

The wallet is called outside our unit of work (ADR 0007); each result is recorded with a conditional
UPDATE (only where nothing was recorded yet). A crash between the two is repaired by the next `settle`
(the decision's, or the sweep's): the wallet answers the same key with its first result, so each
movement happens exactly once, however many times and however concurrently `settle` runs.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict
from ..wallet.port import WalletBackend
from .models import Dispute

log = logging.getLogger(__name__)


class DisputeMoney:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet

    def settle(self, dispute_id: int) -> None:
        case = self._case(dispute_id)
        if case.provisional_amount and case.provisional_reference is None:
            credit = self.wallet.credit_provisional(case.customer_id, case.provisional_amount,
                                                    f"dispute-{case.id}-credit", case=f"DP{case.id}")
            self._record(dispute_id, "provisional_reference", provisional_reference=credit.reference)
            case = self._case(dispute_id)
        if case.status == "won" and case.refund_reference is None:
            self._refund(case)
            case = self._case(dispute_id)
        if case.status in ("won", "lost", "withdrawn") and case.provisional_reference is not None \
                and case.take_back_reference is None:
            back = self.wallet.take_back_provisional(case.customer_id, case.provisional_amount,
                                                     f"dispute-{case.id}-take-back", case=f"DP{case.id}")
            taken = back.amount if back.status == "succeeded" else 0
            self._record(dispute_id, "take_back_reference", take_back_reference=back.reference,
                         provisional_taken_back=taken, provisional_shortfall=case.provisional_amount - taken)

    def _refund(self, case: Dispute) -> None:
        key = f"dispute-{case.id}-refund"
        # The payment first, then our key: a refund under the key not there yet was not there when the
        # payment was read either, so a concurrent `settle` asks for the same amount (the same request).
        payment = self.wallet.get_transaction(case.transaction_reference)
        if (done := self.wallet.find_by_idempotency_key(key, customer_id=case.customer_id)) is not None:
            self._record(case.id, "refund_reference", refund_reference=done.reference, refunded=done.amount)
            return
        amount = min(case.amount, payment.refundable_amount)
        if amount <= 0:
            # Refunded in full another way meanwhile (a refund request): nothing is left to give back.
            self._record(case.id, "refund_reference", refund_reference="none", refunded=0)
            return
        try:
            refund = self.wallet.refund(case.transaction_reference, amount, key,
                                        reason=f"dispute DP{case.id} won")
        except Conflict as exc:
            if exc.code != "refund_exceeds_original":
                raise
            # Another refund took part of it between our read and the refund: settle with what is left.
            log.info("dispute DP%s: the payment was refunded meanwhile; trying again with what is left", case.id)
            return self._refund(case)
        self._record(case.id, "refund_reference", refund_reference=refund.reference, refunded=refund.amount)

    def _case(self, dispute_id: int) -> Dispute:
        with self.db.read() as s:
            return s.execute(select(Dispute).where(Dispute.id == dispute_id)).scalar_one()

    def _record(self, dispute_id: int, unset: str, **values: object) -> None:
        with self.db.transaction() as s:
            s.execute(update(Dispute).where(Dispute.id == dispute_id, getattr(Dispute, unset).is_(None))
                      .values(updated_at=self.clock.now(), **values))
