"""Opening wallets and merchants; tier, lock and freeze flags."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.errors import NotFound, ValidationFailed
from .ledger import ACCOUNTS, LedgerCore
from .models import Merchant
from .port import WalletSummary
from .rules import TIERS


class WalletAccounts(LedgerCore):
    def open_wallet(
        self, customer_id: int, tier: str = "basic", *, locked: bool = False, frozen: bool = False
    ) -> WalletSummary:
        """Open a customer's wallet, already locked or frozen if identity says so.

        Safe to call twice (registration retries it when the first call failed after the
        customer committed): a wallet already open is returned as it is; `set_tier` and
        `set_restrictions` change it."""
        if tier not in TIERS:
            raise ValidationFailed(f"tier must be one of {', '.join(TIERS)}", field="tier")
        try:
            with self.db.transaction() as s:
                exists = s.execute(
                    select(ACCOUNTS.c.id).where(ACCOUNTS.c.customer_id == customer_id)
                ).scalar_one_or_none()
                if exists is None:
                    s.execute(insert(ACCOUNTS).values(
                        kind="wallet", code=f"wallet:{customer_id}", currency=self.currency,
                        customer_id=customer_id, tier=tier, balance=0, locked=locked, frozen=frozen,
                        out_day_total=0, in_month_total=0, created_at=self.clock.now()))
        except IntegrityError:
            # Two openers at once: the unique customer_id let one in; the other returns its wallet.
            pass
        return self.summary(customer_id)

    def add_merchant(self, name: str, category: str, *, status: str = "active") -> int:
        with self.db.transaction() as s:
            now = self.clock.now()
            acc_id = s.execute(
                insert(ACCOUNTS)
                .values(kind="merchant", code=f"merchant:{secrets.token_hex(8)}", currency=self.currency,
                        created_at=now, locked=False, frozen=False, out_day_total=0, in_month_total=0)
                .returning(ACCOUNTS.c.id)
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

    def set_tier(self, customer_id: int, tier: str) -> WalletSummary:
        if tier not in TIERS:
            raise ValidationFailed(f"tier must be one of {', '.join(TIERS)}", field="tier")
        with self.db.transaction() as s:
            self._update_wallet_flags(s, customer_id, tier=tier)
        return self.summary(customer_id)

    def set_restrictions(
        self, customer_id: int, *, locked: bool | None = None, frozen: bool | None = None
    ) -> WalletSummary:
        """Mirror identity's lock or freeze (None leaves a flag as it is). Idempotent."""
        values = {k: v for k, v in {"locked": locked, "frozen": frozen}.items() if v is not None}
        if values:
            with self.db.transaction() as s:
                self._update_wallet_flags(s, customer_id, **values)
        return self.summary(customer_id)

    def _update_wallet_flags(self, s: Session, customer_id: int, **values: Any) -> None:
        result = s.execute(
            update(ACCOUNTS).where(ACCOUNTS.c.customer_id == customer_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound("wallet not found", customer_id=customer_id)
