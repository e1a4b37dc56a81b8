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
        return self._ref(record) if record is not None else None

    def ref(self, customer_id: int) -> CustomerRef:
        return self._ref(self.identity.get(customer_id))

    def _ref(self, record: CustomerRecord) -> CustomerRef:
        try:
            tier = self.wallet.summary(record.id).tier
        except DomainError:
            tier = "basic"  # no wallet (yet): the default policies apply
        return CustomerRef(record.id, record.name, record.language, record.phone, record.email, tier,
                           locked=record.locked, frozen=record.frozen)
