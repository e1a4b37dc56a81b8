"""Keeping the customer's wallet in step with identity: open it, mirror lock and freeze (ADR 0007).

The wallet is another system (`WalletBackend`): its calls never join identity's unit of work and
are never made while one is open. Identity is the source of truth; the wallet's flags are a copy
that must never be less strict than identity when it matters:
- a freeze reaches the wallet before identity records it (identity.service.freeze);
- lifting a lock or freeze, and the lock after too many wrong secrets, reach the wallet after
  identity commits, through `sync`, which reads identity's current state. It is idempotent, so
  when the call fails the job queue retries it until the wallet agrees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform.db import Database, on_commit
from ..platform.errors import Conflict, NotFound
from ..wallet.port import WalletBackend
from .models import Customer

log = logging.getLogger(__name__)

# A sync re-reads identity after writing the wallet; a freeze racing an unfreeze can make it
# write again. More rounds than this means something keeps flipping: let the job retry later.
SYNC_ROUNDS = 3


class WalletLink:
    def __init__(self, db: Database, wallet: WalletBackend) -> None:
        self.db = db
        self.wallet = wallet
        # Set by the jobs: queue a retry of `sync(customer_id)` and `open(customer_id, tier)`.
        # Unset (no job queue), a failed wallet call raises to the caller instead.
        self.queue_sync: Callable[[int], object] | None = None
        self.queue_open: Callable[[int, str], object] | None = None

    def restrictions(self, customer_id: int) -> tuple[bool, bool]:
        """(locked, frozen) as identity has them now."""
        with self.db.read() as s:
            row = s.execute(select(Customer.locked_at, Customer.frozen_at)
                            .where(Customer.id == customer_id)).one_or_none()
        if row is None:
            raise NotFound("customer not found", customer_id=customer_id)
        return row.locked_at is not None, row.frozen_at is not None

    def sync(self, customer_id: int) -> str:
        """Set the wallet's lock and freeze flags from identity's. Safe to repeat.

        Reads identity again after writing: if a freeze committed between the read and the
        write (a stale unfreeze would have lifted it), the new state is written before returning."""
        for _ in range(SYNC_ROUNDS):
            locked, frozen = state = self.restrictions(customer_id)
            try:
                self.wallet.set_restrictions(customer_id, locked=locked, frozen=frozen)
            except NotFound:
                return "no_wallet"  # nothing to restrict yet; `open` applies identity's flags
            if self.restrictions(customer_id) == state:
                return "synced"
        raise Conflict("the account's restrictions kept changing; try again", code="restrictions_changing")

    def open(self, customer_id: int, tier: str) -> str:
        """Open the wallet with identity's flags already set. Safe to repeat."""
        locked, frozen = self.restrictions(customer_id)
        self.wallet.open_wallet(customer_id, tier, locked=locked, frozen=frozen)
        # A lock or freeze that committed after the read above (its wallet call found no wallet).
        return self.sync(customer_id)

    def open_or_queue(self, customer_id: int, tier: str) -> None:
        """After registration commits: open now, or leave it to the job when the wallet fails."""
        try:
            self.open(customer_id, tier)
        except Exception:
            if self.queue_open is None:
                raise
            log.warning("opening the wallet failed; queued a retry", exc_info=True,
                        extra={"customer_id": customer_id})
            self.queue_open(customer_id, tier)

    def sync_on_commit(self, s: Session, customer_id: int) -> None:
        """Mirror identity's flags into the wallet once `s` commits (now, or by the job)."""
        on_commit(s, lambda: self._sync_or_queue(customer_id))

    def _sync_or_queue(self, customer_id: int) -> None:
        try:
            self.sync(customer_id)
        except Exception:
            if self.queue_sync is None:
                raise
            # Not lost: the job retries until the wallet agrees (ADR 0007).
            log.warning("mirroring lock/freeze into the wallet failed; queued a retry", exc_info=True,
                        extra={"customer_id": customer_id})
            self.queue_sync(customer_id)
