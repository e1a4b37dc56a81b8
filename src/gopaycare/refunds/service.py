"""Refund requests: one service behind every way in (the customer's API, an agent on a ticket, the
assistant, the merchant API).

A request is checked (the payment is the customer's, in the refundable window, with money left after
earlier and open requests), recorded once per idempotency key, decided by the policy (policy.py) or
sent to the merchant and then to GoPay's review queue (a desk ticket in the refund area), approved by
one agent or, above the threshold, by a maker and a different checker, and paid once through the wallet
(execution.py). Every step is on the customer's timeline and in the audit log (timeline.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import catalog
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..platform.settings import RefundPolicy
from ..wallet.port import TransactionView, WalletBackend
from ..wallet.rules import PROVIDER_REASONS, Periods
from . import counters as _counters  # noqa: F401  (the dashboard counts refund requests)
from . import timeline, verify
from .execution import Execution
from .models import OPEN_STATUSES, REASONS, STATUSES, RefundRequest
from .policy import MERCHANT_CONFIRMED, SMALL_AMOUNT, Facts, decide, needs_second_approval
from .timeline import REJECTIONS, TimelineEntry

MAX_EVIDENCE = 10
BAD_STANDING_DAYS = 90  # a refund rejected this recently: no automatic approval


class RefundDesk(Protocol):
    """The help desk's side of a request (desk/refund_cases.py)."""

    def file(self, customer_id: int, *, request_id: int, body: str, ticket_id: int | None,
             links: tuple[tuple[str, str], ...], actor: Actor) -> int: ...
    def queue_for_review(self, ticket_id: int, *, priority: str, reason: str) -> None: ...
    def notify(self, ticket_id: int, text: str, *, now: datetime | None = None) -> bool: ...


class Files(Protocol):
    def get(self, attachment_id: int) -> Any: ...


class Customers(Protocol):
    def get(self, customer_id: int) -> Any: ...


@dataclass(frozen=True)
class RefundRequestView:
    id: int
    customer_id: int
    transaction_reference: str
    amount: int
    reason_code: str
    reason: str
    status: str
    ticket_id: int | None
    merchant_id: int | None
    merchant_due_at: datetime | None
    review_due_at: datetime | None
    version: int
    proposed_by: int | None
    decided_by: str | None
    rejection_code: str | None
    refund_reference: str | None
    evidence: list[int]
    created_at: datetime
    updated_at: datetime


def view(r: RefundRequest) -> RefundRequestView:
    return RefundRequestView(
        r.id, r.customer_id, r.transaction_reference, r.amount, r.reason_code, r.reason, r.status, r.ticket_id,
        r.merchant_id, r.merchant_due_at, r.review_due_at, r.version, r.proposed_by, r.decided_by, r.rejection_code,
        r.refund_reference, list(r.evidence or []), r.created_at, r.updated_at)


@dataclass(frozen=True)
class Eligibility:
    """Whether a payment can be refunded now, and the numbers that say why."""

    reference: str
    eligible: bool
    code: str  # eligible | not_a_payment | not_completed | outside_window | fully_refunded | requests_open
    payment_status: str
    amount: int
    refunded: int  # paid back by earlier refunds
    reserved: int  # asked for by requests still open
    refundable: int  # what a new request may ask for
    window_ends_at: datetime
    failed_payment: bool  # the payment failed after its money was taken: all of it goes back

    def explain(self, lang: str) -> str:
        return catalog.text("refunds.eligibility", self.code, lang, refundable=rupiah(self.refundable),
                            refunded=rupiah(self.refunded), reserved=rupiah(self.reserved))


def rupiah(amount: int) -> str:
    """Whole rupiah as Indonesians write them: 1.250.000."""
    return f"{amount:,}".replace(",", ".")


def check_reason(reason_code: object, reason: object) -> tuple[str, str]:
    if reason_code not in REASONS:
        raise ValidationFailed(f"reason_code must be one of {', '.join(REASONS)}", field="reason_code")
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if isinstance(reason, str) and "\x00" in reason:
        raise ValidationFailed("the reason holds a NUL character", field="reason")
    if len(text) > 1000:
        raise ValidationFailed("say it in at most 1000 characters", field="reason")
    if reason_code == "other" and len(text) < 3:
        raise ValidationFailed("say in a few words why you want the refund", field="reason")
    return str(reason_code), text or str(reason_code).replace("_", " ")


def check_amount(amount: object, refundable: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= refundable:
        raise ValidationFailed("the amount is more than what can be refunded", field="amount", refundable=refundable)
    return amount


class RefundRequests:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, policy: RefundPolicy, tz: Any,
                 desk: RefundDesk, files: Files, customers: Customers) -> None:
        self.db = db
        self.clock = clock
        self.wallet = wallet
        self.policy = policy
        self.tz = tz
        self.desk = desk
        self.files = files
        self.customers = customers
        self.execution = Execution(db, clock, wallet, self._notice)
        verify.register()  # `gopaycare ledger verify` proves the refunds too
        # Set by the job system: a notice sent by a job after the commit (default: at once).
        self.notify_later: Callable[[int, str], None] = self.send_notice

    # ------------------------------------------------------------------ reading

    def get(self, request_id: int) -> RefundRequestView:
        with self.db.read() as s:
            r = s.get(RefundRequest, request_id)
            if r is None:
                raise NotFound("no such refund request", request_id=request_id)
            return view(r)

    def get_own(self, customer_id: int, request_id: int) -> RefundRequestView:
        r = self.get(request_id)
        if r.customer_id != customer_id:  # another customer's request answers like an unknown one
            raise NotFound("no such refund request", request_id=request_id)
        return r

    def list(self, customer_id: int) -> list[RefundRequestView]:
        with self.db.read() as s:
            return [view(r) for r in s.scalars(select(RefundRequest).where(RefundRequest.customer_id == customer_id)
                                                .order_by(RefundRequest.id.desc()).limit(200))]

    def by_status(self, status: str, *, limit: int = 50) -> list[RefundRequestView]:
        """Requests in one status, oldest first (the review queue: under_review)."""
        with self.db.read() as s:
            return [view(r) for r in s.scalars(select(RefundRequest).where(RefundRequest.status == status)
                                                .order_by(RefundRequest.id).limit(limit))]

    def for_merchant(self, merchant_id: int, *, status: str | None = None, limit: int = 100) -> list[RefundRequestView]:
        query = select(RefundRequest).where(RefundRequest.merchant_id == merchant_id)
        if status is not None:
            query = query.where(RefundRequest.status == status)
        with self.db.read() as s:
            return [view(r) for r in s.scalars(query.order_by(RefundRequest.id.desc()).limit(limit))]

    def of_merchant(self, merchant_id: int, request_id: int) -> RefundRequestView:
        r = self.get(request_id)
        if r.merchant_id != merchant_id:  # another merchant's case answers like an unknown one
            raise NotFound("no such refund request", request_id=request_id)
        return r

    def timeline(self, request_id: int, lang: str) -> list[TimelineEntry]:
        with self.db.read() as s:
            return timeline.timeline(s, request_id, lang)

    def clawback(self, request_id: int) -> dict[str, Any] | None:
        return self.execution.clawback_of(request_id)

    def refundable(self, customer_id: int, *, limit: int = 5) -> list[TransactionView]:
        """The customer's recent payments that can still be refunded (nothing asked for them is open)."""
        open_refs = {r.transaction_reference for r in self.list(customer_id) if r.status in OPEN_STATUSES}
        # Nothing is reserved on a payment without an open request: no query per payment, and no more
        # payments looked at than the `limit` asked for.
        found = (t for t in self.wallet.list_transactions(customer_id, limit=50)
                 if t.reference not in open_refs and self._eligibility(customer_id, t, reserved=0).eligible)
        return list(itertools.islice(found, limit))

    def eligibility(self, customer_id: int, reference: str) -> Eligibility:
        return self._eligibility(customer_id, self._own_transaction(customer_id, reference))

    def _eligibility(self, customer_id: int, txn: TransactionView, *, reserved: int | None = None) -> Eligibility:
        """`reserved`: what open requests hold on it, when the caller knows (else read)."""
        window_ends = txn.created_at + timedelta(days=self.policy.window_days)
        failed = txn.kind == "payment" and txn.status == "failed" and txn.failure_reason in PROVIDER_REASONS
        if reserved is None:
            with self.db.read() as s:
                reserved = s.scalar(select(func.coalesce(func.sum(RefundRequest.amount), 0)).where(
                    RefundRequest.transaction_reference == txn.reference,
                    RefundRequest.status.in_(OPEN_STATUSES))) or 0
        refundable = (txn.amount if failed else txn.refundable_amount) - reserved
        if failed and reserved:
            refundable = 0  # a failed payment goes back whole, once
        code = "eligible"
        if txn.kind != "payment":
            code = "not_a_payment"
        elif txn.status != "succeeded" and not failed:
            code = "not_completed"
        elif self.clock.now() > window_ends:
            code = "outside_window"
        elif not failed and txn.refundable_amount <= 0:
            code = "fully_refunded"
        elif refundable <= 0:
            code = "requests_open"
        return Eligibility(txn.reference, code == "eligible", code, txn.status, txn.amount, txn.refunded_amount,
                           reserved, max(refundable, 0) if code == "eligible" else 0, window_ends, failed)

    def _own_transaction(self, customer_id: int, reference: object) -> TransactionView:
        reference = reference.strip().upper() if isinstance(reference, str) else ""
        if not 1 <= len(reference) <= 40 or "\x00" in reference:
            raise ValidationFailed("reference is the payment's reference (GP…)", field="reference")
        try:
            txn = self.wallet.get_transaction(reference)
        except NotFound:
            txn = None
        if txn is None or txn.kind != "payment" or self.wallet.owner_of(reference) != customer_id:
            # Another customer's reference answers the same as an unknown one.
            raise NotFound("no such transaction in your history", reference=reference)
        return txn

    # ------------------------------------------------------------------ submitting

    def submit(self, customer_id: int, reference: str, *, reason: str = "", idempotency_key: str,
               reason_code: str = "other", amount: int | None = None, evidence: Sequence[int] = (),
               ticket_id: int | None = None, channel: str = "api", actor: Actor | None = None) -> RefundRequestView:
        """A new request (a retry with the same key answers the first one). `actor`: who files it (an
        agent on a ticket files for the customer); the customer by default."""
        reason_code, reason = check_reason(reason_code, reason)
        if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= 128 or "\x00" in idempotency_key:
            raise ValidationFailed("idempotency key must be 1 to 128 characters", field="idempotency_key")
        files = self._check_evidence(customer_id, evidence)
        txn = self._own_transaction(customer_id, reference)
        if (first := self._by_key(customer_id, idempotency_key)) is not None:
            if (first.customer_id, first.transaction_reference) != (customer_id, txn.reference) or \
                    (amount is not None and amount != first.amount):
                raise Conflict("this idempotency key was used for another refund request", code="idempotency_conflict")
            return first
        found = self._eligibility(customer_id, txn)
        if not found.eligible:
            raise Conflict(found.explain("en"), code=found.code, reference=txn.reference,
                           refundable=found.refundable, window_ends_at=found.window_ends_at.isoformat())
        amount = found.refundable if amount is None or found.failed_payment else check_amount(amount, found.refundable)
        decision = decide(self.policy, Facts(
            amount=amount, failed_payment=found.failed_payment,
            merchant_id=txn.merchant_id if txn.status == "succeeded" else None,
            good_standing=self._good_standing(customer_id), auto_approved_this_month=self._auto_approved(customer_id)))
        actor = actor or Actor.customer(customer_id)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                request = RefundRequest(
                    customer_id=customer_id, transaction_reference=txn.reference, amount=amount, reason=reason,
                    reason_code=reason_code, evidence=files, channel=channel[:12], status="submitted",
                    ticket_id=ticket_id, merchant_id=txn.merchant_id, idempotency_key=idempotency_key, version=1,
                    created_at=now, updated_at=now)
                s.add(request)
                s.flush()
                timeline.step(s, request.id, status="submitted", step="submitted", actor=actor, now=now,
                              amount=amount, reference=txn.reference, reason_code=reason_code, ticket_id=ticket_id)
                self._apply(s, request, decision.status, decision.rule, now)
                result = view(request)
        except IntegrityError:
            # The same request at the same moment: the other copy won.
            existing = self._by_key(customer_id, idempotency_key)
            if existing is None or \
                    (existing.customer_id, existing.transaction_reference) != (customer_id, txn.reference):
                raise
            return existing
        result = self._file(result, txn, actor)
        self.notify_later(result.id, result.status)
        if result.status == "approved":
            return self.execution.run(result.id)
        return result

    def _apply(self, s: Session, r: RefundRequest, status: str, rule: str, now: datetime) -> None:
        """The policy's decision on a request just stored (in the same unit of work)."""
        r.status = status
        if status == "approved":
            r.decided_by = f"policy:{rule}"
            timeline.step(s, r.id, status=status, step="auto_approved", actor=Actor.system(), now=now, rule=rule,
                          amount=r.amount)
        elif status == "awaiting_merchant":
            r.merchant_due_at = now + timedelta(days=self.policy.merchant_days)
            timeline.step(s, r.id, status=status, step="sent_to_merchant", actor=Actor.system(), now=now, rule=rule,
                          due_at=r.merchant_due_at.isoformat(), merchant_id=r.merchant_id)
        else:
            r.review_due_at = now + timedelta(hours=self.policy.review_hours)
            timeline.step(s, r.id, status=status, step="under_review", actor=Actor.system(), now=now, rule=rule,
                          due_at=r.review_due_at.isoformat())

    def _file(self, r: RefundRequestView, txn: TransactionView, actor: Actor) -> RefundRequestView:
        """On the desk: the request's ticket, and the review queue when it waits for GoPay."""
        ticket_id = self.desk.file(r.customer_id, request_id=r.id, ticket_id=r.ticket_id, actor=actor, links=(
            ("transaction", txn.reference), ("refund", f"RR{r.id}")),
            body=f"Refund request RR{r.id}: {txn.reference}, Rp {r.amount:,}. {r.reason_code}: {r.reason}"[:2000])
        if ticket_id != r.ticket_id:
            with self.db.transaction() as s:
                s.execute(update(RefundRequest).where(RefundRequest.id == r.id).values(ticket_id=ticket_id))
        if r.status == "under_review":
            self.desk.queue_for_review(ticket_id, priority=self.policy.review_priority, reason=f"refund RR{r.id}")
        return self.get(r.id)

    def _check_evidence(self, customer_id: int, evidence: Sequence[int]) -> list[int]:
        if isinstance(evidence, (str, bytes)) or not isinstance(evidence, Iterable):
            raise ValidationFailed("evidence is a list of attachment ids", field="evidence")
        ids = list(dict.fromkeys(evidence))
        if len(ids) > MAX_EVIDENCE:
            raise ValidationFailed(f"at most {MAX_EVIDENCE} evidence files", field="evidence")
        for attachment_id in ids:
            if isinstance(attachment_id, bool) or not isinstance(attachment_id, int) or not 0 < attachment_id < 2**63:
                raise ValidationFailed("evidence is a list of attachment ids", field="evidence")
            stored = self.files.get(attachment_id)
            if stored is None or stored.customer_id != customer_id:  # another's file answers like none
                raise NotFound("attachment not found", attachment_id=attachment_id)
        return ids

    def _good_standing(self, customer_id: int) -> bool:
        summary = self.wallet.summary(customer_id)
        if summary.locked or summary.frozen:
            return False
        since = self.clock.now() - timedelta(days=BAD_STANDING_DAYS)
        with self.db.read() as s:
            return not s.scalar(select(func.count()).select_from(RefundRequest).where(
                RefundRequest.customer_id == customer_id, RefundRequest.status == "rejected",
                RefundRequest.decided_by.like("agent:%"), RefundRequest.updated_at >= since))

    def _auto_approved(self, customer_id: int) -> int:
        month = Periods.at(self.clock.now(), self.tz).month
        month_start = datetime(month.year, month.month, 1, tzinfo=self.tz)
        with self.db.read() as s:
            return s.scalar(select(func.coalesce(func.sum(RefundRequest.amount), 0)).where(
                RefundRequest.customer_id == customer_id, RefundRequest.decided_by == f"policy:{SMALL_AMOUNT}",
                RefundRequest.status.notin_(("rejected", "cancelled")),
                RefundRequest.created_at >= month_start)) or 0

    def _by_key(self, customer_id: int, idempotency_key: str) -> RefundRequestView | None:
        """The customer's own request under this key: keys are per customer (another's never shows)."""
        with self.db.read() as s:
            r = s.execute(select(RefundRequest).where(
                RefundRequest.customer_id == customer_id,
                RefundRequest.idempotency_key == idempotency_key)).scalar_one_or_none()
            return view(r) if r is not None else None

    # ------------------------------------------------------------------ the customer's changes

    def cancel(self, customer_id: int, request_id: int) -> RefundRequestView:
        self.get_own(customer_id, request_id)
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status.in_(("submitted", "under_review",
                                                                          "awaiting_merchant")))
                .values(status="cancelled", updated_at=now)).rowcount
            if not moved:
                raise Conflict("this request can no longer be cancelled", code="not_cancellable",
                               status=self.get(request_id).status)
            timeline.step(s, request_id, status="cancelled", step="cancelled", actor=Actor.customer(customer_id),
                          now=now)
        self.notify_later(request_id, "cancelled")
        return self.get(request_id)

    def add_evidence(self, customer_id: int, request_id: int, evidence: Sequence[int]) -> RefundRequestView:
        """More files: the request changes (its version moves on), so a proposal made before must be
        made again."""
        r = self.get_own(customer_id, request_id)
        files = self._check_evidence(customer_id, evidence)
        if not files:
            raise ValidationFailed("name at least one attachment", field="evidence")
        merged = list(dict.fromkeys([*r.evidence, *files]))
        if len(merged) > MAX_EVIDENCE:
            raise ValidationFailed(f"at most {MAX_EVIDENCE} evidence files", field="evidence")
        return self._change(request_id, Actor.customer(customer_id), "evidence_added", evidence=merged)

    def change_amount(self, agent_id: int, request_id: int, amount: object, *, reason: str) -> RefundRequestView:
        """An agent corrects the amount before the decision (never above what is refundable)."""
        r = self.get(request_id)
        reason = _agent_reason(reason)
        txn = self.wallet.get_transaction(r.transaction_reference)
        found = self._eligibility(r.customer_id, txn)
        check_amount(amount, found.refundable + r.amount)  # its own reservation is free to move
        return self._change(request_id, Actor.agent(agent_id), "changed", reason=reason, amount=amount)

    def _change(self, request_id: int, actor: Actor, step: str, *, reason: str | None = None,
                **values: Any) -> RefundRequestView:
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id,
                RefundRequest.status.in_(("submitted", "under_review", "awaiting_merchant")))
                .values(version=RefundRequest.version + 1, updated_at=now, **values)).rowcount
            if not moved:
                raise Conflict("this request is decided and can no longer change", code="request_decided")
            current = s.get(RefundRequest, request_id)
            s.refresh(current)
            timeline.step(s, request_id, status=current.status, step=step, actor=actor, now=now, reason=reason,
                          version=current.version, **{k: v for k, v in values.items() if k == "amount"})
            return view(current)

    # ------------------------------------------------------------------ the merchant's answer

    def merchant_accept(self, merchant_id: int, request_id: int, *, reason: str | None = None) -> RefundRequestView:
        """The merchant confirms (a cancelled order, say): approved at once by `merchant_confirmed`, or
        to GoPay's review when that rule is off."""
        self.of_merchant(merchant_id, request_id)
        note = _merchant_reason(reason, required=False)
        approve = self.policy.merchant_confirmed_approves
        now = self.clock.now()
        actor = Actor("merchant", str(merchant_id))
        with self.db.transaction() as s:
            values: dict[str, Any] = {"status": "approved", "decided_by": f"merchant:{merchant_id}"} if approve else \
                {"status": "under_review", "review_due_at": now + timedelta(hours=self.policy.review_hours)}
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status == "awaiting_merchant")
                .values(updated_at=now, **values)).rowcount
            if not moved:
                raise Conflict("this request is not waiting for the merchant", code="not_awaiting_merchant")
            timeline.step(s, request_id, status=values["status"], step="merchant_accepted", actor=actor, now=now,
                          reason=note, rule=MERCHANT_CONFIRMED if approve else None)
        self.notify_later(request_id, values["status"])
        if approve:
            return self.execution.run(request_id)
        self._to_review_queue(request_id)
        return self.get(request_id)

    def merchant_decline(self, merchant_id: int, request_id: int, *, reason: str) -> RefundRequestView:
        """The merchant says no, with a reason: GoPay reviews it (the merchant's no is not the last word)."""
        self.of_merchant(merchant_id, request_id)
        note = _merchant_reason(reason, required=True)
        self._escalate(request_id, Actor("merchant", str(merchant_id)), "merchant_declined", note)
        return self.get(request_id)

    def _escalate(self, request_id: int, actor: Actor, step: str, reason: str | None) -> bool:
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status == "awaiting_merchant")
                .values(status="under_review", updated_at=now,
                        review_due_at=now + timedelta(hours=self.policy.review_hours))).rowcount
            if not moved:
                if actor.type == "merchant":
                    raise Conflict("this request is not waiting for the merchant", code="not_awaiting_merchant")
                return False
            timeline.step(s, request_id, status="under_review", step=step, actor=actor, now=now, reason=reason)
        self._to_review_queue(request_id)
        self.notify_later(request_id, "under_review")
        return True

    def _to_review_queue(self, request_id: int) -> None:
        r = self.get(request_id)
        if r.ticket_id is not None:
            self.desk.queue_for_review(r.ticket_id, priority=self.policy.review_priority, reason=f"refund RR{r.id}")

    # ------------------------------------------------------------------ GoPay's review

    def propose(self, agent_id: int, request_id: int, *, reason: str) -> RefundRequestView:
        """The maker proposes to approve the request as it is now (its version)."""
        reason = _agent_reason(reason)
        now = self.clock.now()
        with self.db.transaction() as s:
            r = _locked(s, request_id)
            if r.status != "under_review":
                raise Conflict("only a request under review can be proposed", code="not_under_review", status=r.status)
            r.proposed_by, r.proposed_version, r.updated_at = agent_id, r.version, now
            timeline.step(s, r.id, status=r.status, step="proposed", actor=Actor.agent(agent_id), now=now,
                          reason=reason, version=r.version, amount=r.amount)
            return view(r)

    def approve(self, agent_id: int, request_id: int, *, reason: str) -> RefundRequestView:
        """The checker approves (the caller holds `refund.approve`). Above the threshold the approval
        needs a proposal by another agent (403 for the maker himself) of the request as it is now (409
        when it changed since)."""
        reason = _agent_reason(reason)
        now = self.clock.now()
        with self.db.transaction() as s:
            r = _locked(s, request_id)
            if r.status != "under_review":
                raise Conflict("this request is not under review", code="not_under_review", status=r.status)
            if needs_second_approval(self.policy, r.amount):
                if r.proposed_by is None:
                    raise Conflict("above the threshold an approval needs another agent's proposal first",
                                   code="proposal_needed", threshold=self.policy.second_approval_above)
                if r.proposed_by == agent_id:
                    raise PermissionDenied("the agent who proposed cannot also approve", code="same_agent")
                if r.proposed_version != r.version:
                    raise Conflict("the request changed after it was proposed: it must be proposed again",
                                   code="changed_since_proposal", proposed_version=r.proposed_version,
                                   version=r.version)
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == r.id, RefundRequest.status == "under_review", RefundRequest.version == r.version)
                .values(status="approved", decided_by=f"agent:{agent_id}", updated_at=now)).rowcount
            if not moved:
                raise Conflict("this request was decided by someone else", code="not_under_review")
            timeline.step(s, r.id, status="approved", step="approved", actor=Actor.agent(agent_id), now=now,
                          reason=reason, proposed_by=r.proposed_by, version=r.version, amount=r.amount)
        self.notify_later(request_id, "approved")
        return self.execution.run(request_id)

    def reject(self, agent_id: int, request_id: int, *, reason: str, rejection_code: str) -> RefundRequestView:
        reason = _agent_reason(reason)
        if rejection_code not in REJECTIONS:
            raise ValidationFailed(f"rejection_code must be one of {', '.join(REJECTIONS)}", field="rejection_code")
        now = self.clock.now()
        with self.db.transaction() as s:
            moved = s.execute(update(RefundRequest).where(
                RefundRequest.id == request_id, RefundRequest.status.in_(("under_review", "submitted")))
                .values(status="rejected", rejection_code=rejection_code, decided_by=f"agent:{agent_id}",
                        updated_at=now)).rowcount
            if not moved:
                current = s.get(RefundRequest, request_id)
                if current is None:
                    raise NotFound("no such refund request", request_id=request_id)
                raise Conflict("this request is not under review", code="not_under_review", status=current.status)
            timeline.step(s, request_id, status="rejected", step="rejected", actor=Actor.agent(agent_id), now=now,
                          reason=reason, rejection_code=rejection_code)
        self.notify_later(request_id, "rejected")
        return self.get(request_id)

    # ------------------------------------------------------------------ jobs

    def sweep(self, *, limit: int = 200) -> dict[str, int]:
        """Merchants silent past their due date escalate to GoPay's review; approved requests whose
        payment did not finish (a crash, a lost job) are paid now (exactly once: the wallet's key)."""
        now = self.clock.now()
        stale = now - timedelta(minutes=2)
        with self.db.read() as s:
            silent = list(s.scalars(select(RefundRequest.id).where(
                RefundRequest.status == "awaiting_merchant", RefundRequest.merchant_due_at <= now).limit(limit)))
            unpaid = list(s.scalars(select(RefundRequest.id).where(
                RefundRequest.status.in_(("approved", "processing")), RefundRequest.updated_at <= stale).limit(limit)))
        escalated = sum(self._escalate(i, Actor.system(), "merchant_silent", None) for i in silent)
        for request_id in unpaid:
            self.execution.run(request_id, resume=True)
        return {"escalated": escalated, "paid": len(unpaid)}

    def _notice(self, request_id: int, status: str) -> None:
        self.notify_later(request_id, status)

    def send_notice(self, request_id: int, status: str) -> bool:
        """The customer hears that their request reached `status`, on the ticket's conversation (their
        channel), in their language. A job sends it after the step committed, so it names the status
        the step reached, not the one the request has by the time the job runs."""
        r = self.get(request_id)
        if r.ticket_id is None or status not in STATUSES:
            return False
        lang = getattr(self.customers.get(r.customer_id), "language", None) or "en"
        text = catalog.text("refunds.notice", status, lang, id=r.id, reference=r.transaction_reference,
                            amount=rupiah(r.amount))
        if status == "rejected" and (why := timeline.rejection_text(r.rejection_code, lang)):
            text = f"{text} {why}"
        if status == "refunded" and (claw := self.execution.clawback_of(r.id)) is not None:
            text = f"{text} " + catalog.text("refunds.notice", "clawback", lang,
                                             taken=rupiah(claw["taken"]), shortfall=rupiah(claw["shortfall"]))
        return self.desk.notify(r.ticket_id, text)


def _locked(s: Session, request_id: int) -> RefundRequest:
    r = s.execute(select(RefundRequest).where(RefundRequest.id == request_id).with_for_update()).scalar_one_or_none()
    if r is None:
        raise NotFound("no such refund request", request_id=request_id)
    return r


def _agent_reason(reason: object) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not 3 <= len(text) <= 500 or "\x00" in text:
        raise ValidationFailed("give the decision's reason (3 to 500 characters)", field="reason")
    return text


def _merchant_reason(reason: object, *, required: bool) -> str | None:
    if reason is None and not required:
        return None
    return _agent_reason(reason)
