"""The sweep: decide the payments whose award job was lost, then credit what is due."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..platform.clock import Clock
from ..platform.db import Database
from ..wallet.port import WalletBackend
from .awards import Awards
from .models import Decision, SweepCursor

SWEEP = "payments"
SETTLE = timedelta(minutes=1)
FIRST_LOOKBACK = timedelta(hours=48)


class Sweep:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, awards: Awards) -> None:
        self.db, self.clock, self.wallet, self.awards = db, clock, wallet, awards

    def sweep(self, *, batch: int = 500, batches: int = 20) -> dict[str, int]:
        """Decide the payments nobody decided yet (a job lost between commit and enqueue), reading the
        wallet's succeeded payments once, in order, from a stored cursor; then credit what is due.
        Payments younger than `SETTLE` are left for the next run: one that commits a little after its
        created_at must not fall behind the cursor."""
        until = self.clock.now() - SETTLE
        position = self._cursor()
        decided = 0
        for _ in range(batches):
            paid = self.wallet.paid_after(position, until, limit=batch)
            refs = [p.payment.reference for p in paid]
            with self.db.read() as s:
                known = set(s.scalars(select(Decision.payment_reference)
                                      .where(Decision.payment_reference.in_(refs)))) if refs else set()
            for p in paid:
                if p.payment.reference not in known:
                    self.awards.award(p.customer_id, p.payment.reference, paid=p)
                    decided += 1
            if paid:
                position = (paid[-1].payment.created_at, paid[-1].payment.reference)
                self._save_cursor(position)
            if len(paid) < batch:
                break
        return {"decided": decided, "credited": self.awards.credit_due()}

    def _cursor(self) -> tuple[datetime, str]:
        with self.db.read() as s:
            row = s.get(SweepCursor, SWEEP)
        if row is None:  # first run: look back far enough for any payment a lost job left behind
            return self.clock.now() - FIRST_LOOKBACK, ""
        return row.position_at, row.position_reference

    def _save_cursor(self, position: tuple[datetime, str]) -> None:
        with self.db.transaction() as s:
            row = s.get(SweepCursor, SWEEP, with_for_update=True)
            if row is None:
                s.add(SweepCursor(name=SWEEP, position_at=position[0], position_reference=position[1]))
            elif (row.position_at, row.position_reference) < position:  # a concurrent sweep may be ahead
                row.position_at, row.position_reference = position
