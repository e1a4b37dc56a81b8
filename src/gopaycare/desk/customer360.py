"""Customer 360: everything an agent needs about one contact, on one screen.

Wallet summary, recent transactions with their failure reasons, refunds, past tickets and channel
identities. Personal data is masked (phone 0812****7890, ID last 4 only) unless the agent holds
`pii.reveal` and asks with a reason, which is audited (identity.reveal).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from sqlalchemy import select

from ..platform.db import Database
from ..platform.errors import DomainError
from ..platform.pii import mask_email, mask_phone, mask_text
from ..wallet.port import WalletBackend
from .access import Viewer, check_permission, visible
from .contacts import identities, live_contact
from .models import Ticket


class MaskedProfile(Protocol):
    def masked(self) -> dict[str, object]: ...


class Profiles(Protocol):
    def get(self, customer_id: int) -> MaskedProfile: ...


def _masked_identity(kind: str, value: str) -> str:
    if kind in ("phone", "whatsapp"):
        return mask_phone(value) or ""
    if kind == "email":
        return mask_email(value) or ""
    return value


class Customer360:
    def __init__(self, db: Database, profiles: Profiles, wallet: WalletBackend) -> None:
        self.db = db
        self.profiles = profiles
        self.wallet = wallet

    def of_contact(self, viewer: Viewer, contact_id: int, *, transactions: int = 10) -> dict[str, Any]:
        check_permission(viewer, "customer.view")
        with self.db.read() as s:
            contact = live_contact(s, contact_id)
            ids = [{"kind": i.kind, "value": _masked_identity(i.kind, i.value), "verified": i.verified}
                   for i in identities(s, contact.id)]
            # Only the tickets this viewer may open (the rest answer 404 elsewhere), subjects masked.
            tickets = [{"id": t.id, "subject": mask_text(t.subject), "status": t.status, "area": t.area,
                        "channel": t.channel, "created_at": t.created_at.isoformat()}
                       for t in s.scalars(select(Ticket).where(Ticket.contact_id == contact.id, visible(viewer))
                                          .order_by(Ticket.id.desc()).limit(20))]
        customer_id = contact.customer_id
        name = mask_text(contact.name) if contact.name else contact.name
        result: dict[str, Any] = {"contact": {"id": contact.id, "name": name, "language": contact.language},
                                  "customer": self.profiles.get(customer_id).masked() if customer_id else None,
                                  "identities": ids, "tickets": tickets, "wallet": None, "transactions": [],
                                  "refunds": []}
        if customer_id is None:
            return result
        try:
            summary = self.wallet.summary(customer_id)
        except DomainError:
            return result
        wallet = asdict(summary)
        for key in ("daily_outgoing", "monthly_incoming"):
            usage = getattr(summary, key)
            wallet[key] = {"limit": usage.limit, "used": usage.used, "remaining": usage.remaining,
                           "resets_at": usage.resets_at.isoformat()}
        result["wallet"] = wallet
        history = self.wallet.list_transactions(customer_id, limit=max(transactions, 50))
        result["transactions"] = [
            {"reference": t.reference, "kind": t.kind, "status": t.status, "amount": t.amount,
             "direction": t.direction, "merchant": t.merchant_name, "failure_reason": t.failure_reason,
             "failure_details": t.failure_details, "refundable_amount": t.refundable_amount,
             "pending_too_long": t.pending_too_long, "created_at": t.created_at.isoformat()}
            for t in history[:transactions]]
        result["refunds"] = [{"reference": t.reference, "original": t.original_reference, "amount": t.amount,
                              "status": t.status, "created_at": t.created_at.isoformat()}
                             for t in history if t.kind == "refund"]
        return result
