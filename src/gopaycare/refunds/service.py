"""Refund requests: a customer asks for money back on a payment.

The smallest real behaviour until the refund workflow (review, approval, money movement through
`WalletBackend.refund`) arrives with the money-workflows work: a request is checked against the
wallet (the payment is the customer's, succeeded, and the amount is within what is left to
refund), recorded once per idempotency key, linked to its ticket, and its status can be tracked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..wallet.port import TransactionView, WalletBackend
from .models import RefundRequest

OPEN_STATUSES = ("submitted", "under_review", "approved")


class TicketLinker(Protocol):
    """The help desk's way to link a refund and its payment to the customer's ticket."""

    def do_link(self, s: Session, ticket_id: int, links: Iterable[tuple[str, str]], *, actor: Actor,
                now: datetime, reason: str | None = None) -> None: ...


@dataclass(frozen=True)
class RefundRequestView:
    id: int
    transaction_reference: str
    amount: int
    reason: str
    status: str
    ticket_id: int | None
    created_at: datetime
    updated_at: datetime


def _view(r: RefundRequest) -> RefundRequestView:
    return RefundRequestView(r.id, r.transaction_reference, r.amount, r.reason, r.status, r.ticket_id, r.created_at,
                             r.updated_at)


class RefundRequests:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, tickets: TicketLinker) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet
        self.tickets = tickets

    def refundable(self, customer_id: int, *, limit: int = 5) -> list[TransactionView]:
        """The customer's recent payments that can still be refunded and have no open request."""
        open_refs = {r.transaction_reference for r in self.list(customer_id) if r.status in OPEN_STATUSES}
        return [t for t in self.wallet.list_transactions(customer_id, limit=50, status="succeeded")
                if t.refundable_amount > 0 and t.reference not in open_refs][:limit]

    def submit(self, customer_id: int, reference: str, *, reason: str, idempotency_key: str,
               amount: int | None = None, ticket_id: int | None = None) -> RefundRequestView:
        reason = " ".join((reason or "").split())
        if not 3 <= len(reason) <= 1000:
            raise ValidationFailed("say in a few words why you want the refund", field="reason")
        txn = self._own_transaction(customer_id, reference)
        amount = txn.refundable_amount if amount is None else amount
        if txn.refundable_amount <= 0:
            raise Conflict("this transaction cannot be refunded", code="not_refundable", reference=reference)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= txn.refundable_amount:
            raise ValidationFailed("the amount is more than what can be refunded", field="amount",
                                   refundable=txn.refundable_amount)
        if (first := self._by_key(customer_id, idempotency_key)) is not None:
            if (first.customer_id, first.transaction_reference, first.amount) != (customer_id, txn.reference, amount):
                raise Conflict("this idempotency key was used for another refund request",
                               code="idempotency_conflict")
            return _view(first)  # a retry: the first answer
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                if s.execute(select(RefundRequest.id).where(
                        RefundRequest.transaction_reference == txn.reference,
                        RefundRequest.status.in_(OPEN_STATUSES))).first():
                    raise Conflict("a refund request for this payment is already open", code="refund_request_open",
                                   reference=txn.reference)
                request = RefundRequest(customer_id=customer_id, transaction_reference=txn.reference, amount=amount,
                                        reason=reason, status="submitted", ticket_id=ticket_id,
                                        idempotency_key=idempotency_key, created_at=now, updated_at=now)
                s.add(request)
                s.flush()
                if ticket_id is not None:
                    self.tickets.do_link(s, ticket_id, (("transaction", txn.reference), ("refund", f"RR{request.id}")),
                                         actor=Actor.customer(customer_id), now=now, reason="refund requested")
                audit.record(s, at=now, actor=Actor.customer(customer_id), action="refund.requested",
                             subject_type="refund_request", subject_id=request.id, reference=txn.reference,
                             amount=amount, ticket_id=ticket_id)
                return _view(request)
        except IntegrityError:
            # The same request at the same moment: the other copy won.
            existing = self._by_key(customer_id, idempotency_key)
            if existing is None or existing.customer_id != customer_id \
                    or existing.transaction_reference != txn.reference:
                raise
            return _view(existing)

    def _by_key(self, customer_id: int, idempotency_key: str) -> RefundRequest | None:
        """The customer's own request under this key: keys are per customer (another's never shows)."""
        with self.db.read() as s:
            return s.execute(select(RefundRequest).where(
                RefundRequest.customer_id == customer_id,
                RefundRequest.idempotency_key == idempotency_key)).scalar_one_or_none()

    def _own_transaction(self, customer_id: int, reference: str) -> TransactionView:
        reference = (reference or "").strip().upper()
        for txn in self.wallet.list_transactions(customer_id, limit=200):
            if txn.reference == reference:
                return txn
        # Another customer's reference answers the same as an unknown one.
        raise NotFound("no such transaction in your history", reference=reference)

    def list(self, customer_id: int) -> list[RefundRequestView]:
        with self.db.read() as s:
            return [_view(r) for r in s.scalars(select(RefundRequest).where(RefundRequest.customer_id == customer_id)
                                                .order_by(RefundRequest.id.desc()))]
