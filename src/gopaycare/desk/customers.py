"""The desk's window on wallet customers: who writes from a registered phone or email, and their
tier (SLA policies depend on it). It asks identity and the wallet through their services, never
their tables, so another operator's identity or wallet backend plugs in behind them."""

from __future__ import annotations

from typing import Protocol

from ..platform.errors import DomainError
from ..wallet.port import WalletBackend
from .contacts import PHONE_KINDS, CustomerRef


class CustomerRecord(Protocol):
    id: int
    name: str
    language: str
    phone: str
    email: str | None
    locked: bool
    frozen: bool


class IdentityLookup(Protocol):
    def find_by_address(self, kind: str, value: str) -> CustomerRecord | None: ...
    def get(self, customer_id: int) -> CustomerRecord: ...


class CustomerDirectory:
    def __init__(self, identity: IdentityLookup, wallet: WalletBackend) -> None:
        self.identity = identity
        self.wallet = wallet

    def find_by_address(self, kind: str, value: str) -> CustomerRef | None:
        """The customer whose registered phone (for a phone-like channel) or email this is."""
        if kind not in (*PHONE_KINDS, "email"):
            return None
        record = self.identity.find_by_address("email" if kind == "email" else "phone", value)
        # Asked on every message: the tier (a wallet read) only when a ticket is opened.
        return self._ref(record, tier=None) if record is not None else None

    def ref(self, customer_id: int) -> CustomerRef:
        return self._ref(self.identity.get(customer_id), tier=self.tier(customer_id))

    def tier(self, customer_id: int) -> str:
        try:
            return self.wallet.summary(customer_id).tier
        except DomainError:
            return "basic"  # no wallet (yet): the default policies apply

    @staticmethod
    def _ref(record: CustomerRecord, *, tier: str | None) -> CustomerRef:
        return CustomerRef(record.id, record.name, record.language, record.phone, record.email, tier,
                           locked=record.locked, frozen=record.frozen)
