"""Reading a wallet: its balance and limits, its history, money stuck in flight."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_

from ..platform.errors import NotFound, ValidationFailed
from .ledger import ACCOUNTS, TXNS, LedgerCore
from .models import Merchant
from .port import LimitUsage, MerchantView, PaidPayment, TransactionView, WalletSummary
from .rules import (
    Periods,
    tier_limits,
)


class WalletQueries(LedgerCore):
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

    def find_by_idempotency_key(self, key: str, *, customer_id: int) -> TransactionView | None:
        """The customer's own transaction stored under this key (another customer's is not shown)."""
        with self.db.read() as s:
            row = s.execute(select(TXNS).where(TXNS.c.idempotency_key == key,
                                               TXNS.c.account_id == self._wallet_id(s, customer_id))).one_or_none()
            return self._views(s, [row], perspective=None)[0] if row else None

    def get_transaction(self, reference: str) -> TransactionView:
        with self.db.read() as s:
            return self._views(s, [self._original(s, reference)], perspective=None)[0]

    def owner_of(self, reference: str) -> int | None:
        """The customer whose wallet holds this transaction (None: unknown reference, or no wallet's)."""
        with self.db.read() as s:
            return s.execute(select(ACCOUNTS.c.customer_id).join(TXNS, TXNS.c.account_id == ACCOUNTS.c.id)
                             .where(TXNS.c.reference == reference)).scalar_one_or_none()

    def derived_from(self, reference: str, kind: str) -> list[TransactionView]:
        """The transactions of `kind` made on account of this one (its refunds, cashback, clawbacks)."""
        original = select(TXNS.c.id).where(TXNS.c.reference == reference).scalar_subquery()
        with self.db.read() as s:
            rows = s.execute(select(TXNS).where(TXNS.c.original_id == original, TXNS.c.kind == kind)
                             .order_by(TXNS.c.id)).all()
            return self._views(s, rows, perspective=None) if rows else []

    def list_transactions(
        self, customer_id: int, *, limit: int = 20, before: str | None = None, status: str | None = None
    ) -> list[TransactionView]:
        if not 1 <= limit <= 200:
            raise ValidationFailed("limit must be between 1 and 200", field="limit")
        with self.db.read() as s:
            wallet = self._wallet_id(s, customer_id)
            stmt = select(TXNS).where(
                or_(TXNS.c.account_id == wallet,
                    and_(TXNS.c.counterparty_account_id == wallet, TXNS.c.kind == "p2p",
                         TXNS.c.status == "succeeded"))
            )
            if status:
                stmt = stmt.where(TXNS.c.status == status)
            if before:
                cursor = s.execute(select(TXNS.c.id).where(TXNS.c.reference == before)).scalar_one_or_none()
                if cursor is None:
                    raise ValidationFailed("unknown cursor", field="before")
                stmt = stmt.where(TXNS.c.id < cursor)
            rows = s.execute(stmt.order_by(TXNS.c.id.desc()).limit(limit)).all()
            return self._views(s, rows, perspective=wallet)

    def overdue_pending(self, *, limit: int = 100) -> list[TransactionView]:
        cutoff = self.clock.now() - timedelta(minutes=self.settings.pending_too_long_minutes)
        with self.db.read() as s:
            rows = s.execute(
                select(TXNS).where(TXNS.c.status == "pending", TXNS.c.created_at < cutoff)
                .order_by(TXNS.c.created_at).limit(limit)
            ).all()
            return self._views(s, rows, perspective=None)

    def paid_after(self, after: tuple[datetime, str], until: datetime, *, limit: int = 500) -> list[PaidPayment]:
        """Succeeded merchant payments created after `after` (created_at, reference) and before
        `until`, in that order, with their payer: a cursor for readers that must see each one."""
        if not 1 <= limit <= 5000:
            raise ValidationFailed("limit must be between 1 and 5000", field="limit")
        with self.db.read() as s:
            rows = s.execute(
                select(TXNS, ACCOUNTS.c.customer_id.label("payer"))
                .join(ACCOUNTS, ACCOUNTS.c.id == TXNS.c.account_id)
                .where(TXNS.c.status == "succeeded", TXNS.c.created_at >= after[0], TXNS.c.created_at < until,
                       tuple_(TXNS.c.created_at, TXNS.c.reference) > tuple_(*after), TXNS.c.kind == "payment")
                .order_by(TXNS.c.created_at, TXNS.c.reference).limit(limit)
            ).all()
            views = self._views(s, rows, perspective=None)
        return [PaidPayment(row.payer, view) for row, view in zip(rows, views, strict=True)]

    def merchant(self, merchant_id: int) -> MerchantView:
        with self.db.read() as s:
            row = s.execute(select(Merchant).where(Merchant.id == merchant_id)).scalar_one_or_none()
            if row is None:
                raise NotFound("merchant not found", merchant_id=merchant_id)
            return MerchantView(row.id, row.name, row.category, row.status)
