"""Disputes: open, add evidence, track, withdraw (the customer); review and decide (an agent).

One case per payment at a time. Opening stores the case, its evidence and a desk ticket (area
refund_dispute, linked to the payment and the case) in one unit of work; an unrecognised charge may
freeze the account first (the existing freeze, protective, so before anything else) and its ticket is
tagged as a security alert, high priority, like the security-alert flow's. The money (provisional
credit, its taking back, a won case's refund) follows after commit in `DisputeMoney.settle`.

A decision is one conditional UPDATE from under_review: of two agents deciding at once, one decides,
the other is told the case was already decided (409).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..wallet.port import TransactionView, WalletBackend
from .models import EVIDENCE_KINDS, OPEN, REASONS, Dispute, DisputeEvidence
from .money import DisputeMoney
from .policy import DisputePolicy

CUSTOMER_EVIDENCE = ("communication", "receipt", "shipping_proof", "file", "note")
MERCHANT_EVIDENCE = ("merchant_response", "communication", "receipt", "shipping_proof", "note")
MAX_EVIDENCE = 20
MAX_TEXT = 2000


class Identity(Protocol):
    def get(self, customer_id: int) -> Any: ...
    def freeze(self, customer_id: int, *, actor: Actor, reason: str) -> Any: ...


class Desk(Protocol):
    """What a dispute needs of the help desk: a ticket of its own for the customer, with links."""

    def customer_at(self, identity_kind: str, identity_value: str) -> Any: ...
    def do_receive(self, s: Session, **fields: Any) -> Any: ...


class Links(Protocol):
    def do_link(self, s: Session, ticket_id: int, links: Any, *, actor: Actor, now: datetime,
                reason: str | None = None) -> None: ...


class Files(Protocol):
    def check_unsent(self, customer_id: int | None, ids: Sequence[int]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class EvidenceView:
    id: int
    party: str
    kind: str
    body: str
    attachment_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class DisputeView:
    id: int
    customer_id: int
    transaction_reference: str
    merchant_id: int | None
    amount: int
    reason: str
    status: str
    ticket_id: int | None
    froze_account: bool
    response_due_at: datetime
    provisional_amount: int
    provisional_credited: bool
    provisional_taken_back: int
    provisional_shortfall: int
    refunded: int
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    evidence: tuple[EvidenceView, ...] = ()


def _view(d: Dispute, evidence: Sequence[DisputeEvidence] = ()) -> DisputeView:
    return DisputeView(
        d.id, d.customer_id, d.transaction_reference, d.merchant_id, d.amount, d.reason, d.status, d.ticket_id,
        d.froze_account, d.response_due_at, d.provisional_amount, d.provisional_reference is not None,
        d.provisional_taken_back, d.provisional_shortfall, d.refunded, d.decision_reason, d.created_at,
        d.updated_at, d.closed_at,
        tuple(EvidenceView(e.id, e.party, e.kind, e.body, e.attachment_id, e.created_at) for e in evidence))


def _text(value: object, field: str, *, least: int = 1, most: int = MAX_TEXT) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not least <= len(text) <= most or "\x00" in text:
        raise ValidationFailed(f"{field} must be {least} to {most} characters", field=field)
    return text


def _evidence(items: Sequence[tuple[str, str]], kinds: Sequence[str]) -> list[tuple[str, str]]:
    if len(items) > MAX_EVIDENCE:
        raise ValidationFailed(f"at most {MAX_EVIDENCE} pieces of evidence at once", field="evidence")
    checked = []
    for kind, body in items:
        if kind not in kinds:
            raise ValidationFailed(f"evidence kind must be one of {', '.join(kinds)}", field="evidence.kind")
        checked.append((kind, _text(body, "evidence.body")))
    return checked


class Disputes:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, identity: Identity, desk: Desk,
                 links: Links, files: Files, policy: DisputePolicy) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet
        self.identity = identity
        self.desk = desk
        self.links = links
        self.files = files
        self.policy = policy
        self.money = DisputeMoney(db, clock, wallet)

    # ---------------------------------------------------------------- the customer

    def open(self, customer_id: int, reference: str, *, reason: str, description: str, idempotency_key: str,
             evidence: Sequence[tuple[str, str]] = (), attachments: Sequence[int] = (),
             freeze_account: bool = False) -> DisputeView:
        if reason not in REASONS:
            raise ValidationFailed(f"reason must be one of {', '.join(REASONS)}", field="reason")
        description = _text(description, "description", least=3)
        items = _evidence(evidence, CUSTOMER_EVIDENCE)
        if freeze_account and reason != "unrecognised_charge":
            raise ValidationFailed("the account is frozen only for a charge you do not recognise",
                                   field="freeze_account")
        payment = self._own_payment(customer_id, reference)
        if (first := self._by_key(idempotency_key)) is not None:
            if (first.customer_id, first.transaction_reference, first.reason) != (customer_id, payment.reference,
                                                                                   reason):
                raise Conflict("this idempotency key was used for another dispute", code="idempotency_conflict")
            self.money.settle(first.id)  # a retry: the first answer, its money completed if a crash cut it short
            return self.get(customer_id, first.id)
        amount = payment.amount - payment.refunded_amount
        if payment.status != "succeeded" or amount <= 0:
            raise Conflict("only a paid payment with money not yet refunded can be disputed", code="not_disputable",
                           reference=payment.reference, status=payment.status)
        self._check_none_open(payment.reference)
        files = self.files.check_unsent(customer_id, attachments) if attachments else []
        if freeze_account:
            # Protective: at once, before the case is stored (a failure after it leaves the account frozen).
            self.identity.freeze(customer_id, actor=Actor.customer(customer_id),
                                 reason=f"unrecognised charge {payment.reference} disputed")
        customer = self.identity.get(customer_id)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                self._check_none_open(payment.reference, s)
                case = Dispute(customer_id=customer_id, transaction_reference=payment.reference,
                               merchant_id=payment.merchant_id, amount=amount, reason=reason, status="needs_response",
                               idempotency_key=idempotency_key, froze_account=freeze_account,
                               response_due_at=now + self.policy.response_window,
                               provisional_amount=self.policy.provisional_for(reason, amount), created_at=now,
                               updated_at=now)
                s.add(case)
                s.flush()
                for kind, body in [("description", description), *items]:
                    s.add(DisputeEvidence(dispute_id=case.id, party="customer", kind=kind, body=body, created_at=now))
                for entry in files:
                    s.add(DisputeEvidence(dispute_id=case.id, party="customer", kind="file",
                                          body=str(entry.get("name") or "")[:200], attachment_id=entry["attachment_id"],
                                          created_at=now))
                case.ticket_id = self._ticket(s, case, customer, payment, description, files, now)
                audit.record(s, at=now, actor=Actor.customer(customer_id), action="dispute.opened",
                             subject_type="dispute", subject_id=case.id, reference=payment.reference, amount=amount,
                             reason_code=reason, froze_account=freeze_account,
                             provisional_amount=case.provisional_amount, ticket_id=case.ticket_id)
                dispute_id = case.id
        except IntegrityError:
            existing = self._by_key(idempotency_key)  # the same request at the same moment: the other won
            if existing is None or existing.customer_id != customer_id:
                raise
            dispute_id = existing.id
        self.money.settle(dispute_id)
        return self.get(customer_id, dispute_id)

    def _ticket(self, s: Session, case: Dispute, customer: Any, payment: TransactionView, description: str,
                files: list[dict[str, Any]], now: datetime) -> int:
        security = case.reason == "unrecognised_charge"
        arrived = self._post(s, case, customer, description, files, now, priority="high" if security else "normal",
                             subject=f"DP{case.id} {case.reason.replace('_', ' ')}: {payment.reference}",
                             tags=("dispute", case.reason, *(("security_alert",) if security else ())))
        self.links.do_link(s, arrived.ticket.id, (("transaction", payment.reference), ("dispute", f"DP{case.id}")),
                           actor=Actor.customer(case.customer_id), now=now, reason="dispute opened")
        return int(arrived.ticket.id)

    def _post(self, s: Session, case: Dispute, customer: Any, body: str, files: list[dict[str, Any]], now: datetime,
              **new_ticket: Any) -> Any:
        """The customer's words and files on the case's own conversation (thread "dispute:<id>"), where the
        agents read them on its ticket; a file on a message is kept (an upload no message takes is swept)."""
        return self.desk.do_receive(
            s, channel="chat", identity_kind="phone", identity_value=customer.phone, body=body,
            customer=self.desk.customer_at("phone", customer.phone), now=now, thread=f"dispute:{case.id}",
            name=customer.name, language=customer.language, attachments=files, area="refund_dispute", **new_ticket)

    def add_evidence(self, customer_id: int, dispute_id: int, *, evidence: Sequence[tuple[str, str]] = (),
                     attachments: Sequence[int] = ()) -> DisputeView:
        items = _evidence(evidence, CUSTOMER_EVIDENCE)
        if not items and not attachments:
            raise ValidationFailed("give some evidence: text or files", field="evidence")
        files = self.files.check_unsent(customer_id, attachments) if attachments else []
        now = self.clock.now()
        with self.db.transaction() as s:
            case = self._own(s, customer_id, dispute_id, for_update=True)
            if case.status not in OPEN:
                raise Conflict("this dispute is closed", code="dispute_closed", status=case.status)
            for kind, body in items:
                s.add(DisputeEvidence(dispute_id=case.id, party="customer", kind=kind, body=body, created_at=now))
            for entry in files:
                s.add(DisputeEvidence(dispute_id=case.id, party="customer", kind="file",
                                      body=str(entry.get("name") or "")[:200], attachment_id=entry["attachment_id"],
                                      created_at=now))
            case.updated_at = now
            self._post(s, case, self.identity.get(customer_id), "\n".join(f"[{kind}] {body}" for kind, body in items),
                       files, now)
        return self.get(customer_id, dispute_id)

    def withdraw(self, customer_id: int, dispute_id: int) -> DisputeView:
        now = self.clock.now()
        with self.db.transaction() as s:
            case = self._own(s, customer_id, dispute_id)
            moved = s.execute(update(Dispute).where(Dispute.id == case.id, Dispute.status.in_(OPEN))
                              .values(status="withdrawn", closed_at=now, updated_at=now)).rowcount
            if not moved:
                raise Conflict("this dispute is already closed", code="dispute_closed", status=case.status)
            audit.record(s, at=now, actor=Actor.customer(customer_id), action="dispute.withdrawn",
                         subject_type="dispute", subject_id=case.id)
        self.money.settle(dispute_id)
        return self.get(customer_id, dispute_id)

    def list(self, customer_id: int) -> list[DisputeView]:
        with self.db.read() as s:
            return [_view(d) for d in s.scalars(select(Dispute).where(Dispute.customer_id == customer_id)
                                                 .order_by(Dispute.id.desc()).limit(100))]

    def get(self, customer_id: int, dispute_id: int) -> DisputeView:
        with self.db.read() as s:
            return self._with_evidence(s, self._own(s, customer_id, dispute_id))

    # ---------------------------------------------------------------- agents

    def find(self, dispute_id: int) -> DisputeView:
        with self.db.read() as s:
            case = s.get(Dispute, dispute_id)
            if case is None:
                raise NotFound("dispute not found", dispute_id=dispute_id)
            return self._with_evidence(s, case)

    def queue(self, *, status: str | None = None, limit: int = 50) -> list[DisputeView]:
        stmt = select(Dispute).order_by(Dispute.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Dispute.status == status)
        with self.db.read() as s:
            return [_view(d) for d in s.scalars(stmt)]

    def record_response(self, dispute_id: int, *, agent_id: int, body: str) -> DisputeView:
        """The merchant's answer (as the agent received it): the case goes to review."""
        body = _text(body, "body")
        now = self.clock.now()
        with self.db.transaction() as s:
            case = self._locked(s, dispute_id)
            if case.status not in OPEN:
                raise Conflict("this dispute is closed", code="dispute_closed", status=case.status)
            s.add(DisputeEvidence(dispute_id=case.id, party="merchant", kind="merchant_response", body=body,
                                  created_at=now))
            if case.status == "needs_response":
                case.status = "under_review"
            case.updated_at = now
            audit.record(s, at=now, actor=Actor.agent(agent_id), action="dispute.merchant_responded",
                         subject_type="dispute", subject_id=case.id)
        return self.find(dispute_id)

    def review(self, dispute_id: int, *, agent_id: int, reason: str) -> DisputeView:
        """To review without the merchant's answer (its due date passed, or it answered elsewhere)."""
        reason = _text(reason, "reason", least=3, most=500)
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(Dispute).where(Dispute.id == dispute_id, Dispute.status == "needs_response")
                              .values(status="under_review", updated_at=now)).rowcount
            if not moved:
                case = self._locked(s, dispute_id)  # NotFound for an unknown id
                raise Conflict("only a case waiting for the merchant goes to review", code="not_needs_response",
                               status=case.status)
            audit.record(s, at=now, actor=Actor.agent(agent_id), action="dispute.under_review",
                         subject_type="dispute", subject_id=dispute_id, reason=reason)
        return self.find(dispute_id)

    def decide(self, dispute_id: int, *, agent_id: int, outcome: str, reason: str) -> DisputeView:
        if outcome not in ("won", "lost"):
            raise ValidationFailed("outcome must be won (the customer is right) or lost", field="outcome")
        reason = _text(reason, "reason", least=3, most=500)
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(Dispute).where(Dispute.id == dispute_id, Dispute.status == "under_review")
                              .values(status=outcome, decided_by=agent_id, decision_reason=reason, closed_at=now,
                                      updated_at=now)).rowcount
            if not moved:
                case = self._locked(s, dispute_id)
                raise Conflict("only a case under review can be decided", code="not_under_review",
                               status=case.status)
            audit.record(s, at=now, actor=Actor.agent(agent_id), action=f"dispute.{outcome}",
                         subject_type="dispute", subject_id=dispute_id, reason=reason)
        self.money.settle(dispute_id)
        return self.find(dispute_id)

    def settle_all(self, *, limit: int = 200) -> int:
        """Cases whose money is not all recorded (a crash between the wallet and our commit)."""
        with self.db.read() as s:
            ids = list(s.scalars(select(Dispute.id).where(
                ((Dispute.provisional_amount > 0) & Dispute.provisional_reference.is_(None))
                | ((Dispute.status == "won") & Dispute.refund_reference.is_(None))
                | (Dispute.status.in_(("won", "lost", "withdrawn")) & Dispute.provisional_reference.is_not(None)
                   & Dispute.take_back_reference.is_(None))).order_by(Dispute.id).limit(limit)))
        for dispute_id in ids:
            self.money.settle(dispute_id)
        return len(ids)

    # ---------------------------------------------------------------- the merchant (its own cases only)

    def for_merchant(self, merchant_id: int, *, status: str | None = None, limit: int = 100) -> list[DisputeView]:
        stmt = select(Dispute).where(Dispute.merchant_id == merchant_id).order_by(Dispute.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Dispute.status == status)
        with self.db.read() as s:
            return [_view(d) for d in s.scalars(stmt)]

    def of_merchant(self, merchant_id: int, dispute_id: int) -> DisputeView:
        with self.db.read() as s:
            case = s.get(Dispute, dispute_id)
            if case is None or case.merchant_id != merchant_id:  # another merchant's case answers as a missing one
                raise NotFound("dispute not found", dispute_id=dispute_id)
            return self._with_evidence(s, case)

    def merchant_evidence(self, merchant_id: int, dispute_id: int, *, kind: str, body: str) -> DisputeView:
        """The merchant answers with its evidence: a case waiting for it goes to GoPay's review."""
        [(kind, body)] = _evidence([(kind, body)], MERCHANT_EVIDENCE)
        now = self.clock.now()
        with self.db.transaction() as s:
            case = self._locked(s, dispute_id)
            if case.merchant_id != merchant_id:
                raise NotFound("dispute not found", dispute_id=dispute_id)
            if case.status not in OPEN:
                raise Conflict("this dispute is closed", code="dispute_closed", status=case.status)
            s.add(DisputeEvidence(dispute_id=case.id, party="merchant", kind=kind, body=body, created_at=now))
            if case.status == "needs_response":
                case.status = "under_review"
            case.updated_at = now
            audit.record(s, at=now, actor=Actor("merchant", str(merchant_id)), action="dispute.merchant_responded",
                         subject_type="dispute", subject_id=case.id, kind=kind)
        return self.of_merchant(merchant_id, dispute_id)

    def merchant_accept(self, merchant_id: int, dispute_id: int) -> DisputeView:
        """The merchant concedes (Stripe's "accept the dispute"): the customer wins and is refunded from the
        merchant, once, by `DisputeMoney.settle`."""
        self.of_merchant(merchant_id, dispute_id)
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(Dispute).where(Dispute.id == dispute_id, Dispute.merchant_id == merchant_id,
                                                    Dispute.status.in_(OPEN))
                              .values(status="won", decision_reason="accepted by the merchant", closed_at=now,
                                      updated_at=now)).rowcount
            if not moved:
                raise Conflict("this dispute is already closed", code="dispute_closed")
            audit.record(s, at=now, actor=Actor("merchant", str(merchant_id)), action="dispute.won",
                         subject_type="dispute", subject_id=dispute_id, reason="accepted by the merchant")
        self.money.settle(dispute_id)
        return self.of_merchant(merchant_id, dispute_id)

    # ---------------------------------------------------------------- helpers

    def _own_payment(self, customer_id: int, reference: object) -> TransactionView:
        ref = reference.strip().upper() if isinstance(reference, str) else ""
        if 1 <= len(ref) <= 40:
            for txn in self.wallet.list_transactions(customer_id, limit=200):
                if txn.reference == ref and txn.kind == "payment":
                    return txn
        # Another customer's reference answers the same as an unknown one.
        raise NotFound("no such payment in your history", reference=ref[:40])

    def _check_none_open(self, reference: str, s: Session | None = None) -> None:
        def check(session: Session) -> None:
            if session.execute(select(Dispute.id).where(Dispute.transaction_reference == reference,
                                                        Dispute.status.in_(OPEN))).first():
                raise Conflict("a dispute about this payment is already open", code="dispute_open",
                               reference=reference)
        if s is not None:
            return check(s)
        with self.db.read() as session:
            check(session)

    def _by_key(self, key: str) -> Dispute | None:
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationFailed("idempotency key must be 1 to 128 characters", field="idempotency_key")
        with self.db.read() as s:
            return s.execute(select(Dispute).where(Dispute.idempotency_key == key)).scalar_one_or_none()

    @staticmethod
    def _own(s: Session, customer_id: int, dispute_id: int, *, for_update: bool = False) -> Dispute:
        stmt = select(Dispute).where(Dispute.id == dispute_id, Dispute.customer_id == customer_id)
        case = s.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
        if case is None:  # someone else's case answers as a missing one
            raise NotFound("dispute not found", dispute_id=dispute_id)
        return case

    @staticmethod
    def _locked(s: Session, dispute_id: int) -> Dispute:
        case = s.execute(select(Dispute).where(Dispute.id == dispute_id).with_for_update()).scalar_one_or_none()
        if case is None:
            raise NotFound("dispute not found", dispute_id=dispute_id)
        return case

    @staticmethod
    def _with_evidence(s: Session, case: Dispute) -> DisputeView:
        evidence = list(s.scalars(select(DisputeEvidence).where(DisputeEvidence.dispute_id == case.id)
                                  .order_by(DisputeEvidence.id)))
        return _view(case, evidence)


__all__ = ["EVIDENCE_KINDS", "DisputeView", "Disputes", "EvidenceView"]
