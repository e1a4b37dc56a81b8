"""Refund requests as the customer, an agent and a merchant send and read them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Strict

from ...platform.pii import mask_text
from ...refunds.service import Eligibility, RefundRequestView
from ...refunds.timeline import TimelineEntry, rejection_text, status_text
from .common import Amount, Id, In, Out, Timestamp

ReasonCode = Literal["duplicate_charge", "order_cancelled", "goods_not_received", "wrong_amount", "other"]
RejectionCode = Literal["outside_window", "not_eligible", "insufficient_evidence", "merchant_delivered",
                        "duplicate_request", "nothing_left", "nothing_taken", "other"]
Evidence = Annotated[list[Annotated[Id, Strict()]], Field(
    default_factory=list, max_length=10, description="ids of the customer's own attachments")]


class RefundIn(In):
    reference: str = Field(min_length=4, max_length=40, description="the payment's reference (GP…)")
    amount: Annotated[Amount, Strict()] | None = Field(default=None,
                                                       description="whole rupiah; default: all that is left")
    reason_code: ReasonCode
    reason: str = Field(default="", max_length=1000, description="in the customer's words (required for 'other')")
    evidence: Evidence


class EvidenceIn(In):
    evidence: Evidence


class DecisionIn(In):
    reason: str = Field(min_length=3, max_length=500)


class RejectIn(DecisionIn):
    rejection_code: RejectionCode


class AmountIn(DecisionIn):
    amount: Annotated[Amount, Strict()]


class MerchantAnswerIn(In):
    reason: str | None = Field(default=None, min_length=3, max_length=500)


class MerchantDeclineIn(In):
    reason: str = Field(min_length=3, max_length=500)


class EligibilityOut(Out):
    reference: str
    eligible: bool
    code: str = Field(description="eligible | not_a_payment | not_completed | outside_window | fully_refunded | "
                                  "requests_open")
    explanation: str = Field(description="in the customer's language")
    payment_status: str
    amount: int
    refunded: int
    reserved: int = Field(description="asked for by requests still open")
    refundable: int = Field(description="what a new request may ask for")
    window_ends_at: Timestamp
    failed_payment: bool

    @classmethod
    def of(cls, e: Eligibility, lang: str) -> EligibilityOut:
        return cls(reference=e.reference, eligible=e.eligible, code=e.code, explanation=e.explain(lang),
                   payment_status=e.payment_status, amount=e.amount, refunded=e.refunded, reserved=e.reserved,
                   refundable=e.refundable, window_ends_at=e.window_ends_at, failed_payment=e.failed_payment)


class StepOut(Out):
    at: Timestamp
    status: str
    step: str
    text: str
    actor: str = Field(description="customer | merchant | gopay")
    details: dict[str, Any]

    @classmethod
    def of(cls, e: TimelineEntry) -> StepOut:
        return cls(at=e.at, status=e.status, step=e.step, text=e.text, actor=e.actor, details=e.details)


class ClawbackOut(Out):
    due: int
    taken: int
    shortfall: int = Field(description="cashback that could not be taken back (the wallet held less): not a debt")


class RefundOut(Out):
    id: int
    reference: str
    amount: int
    reason_code: str
    reason: str
    status: str
    status_text: str
    rejection_code: str | None
    rejection_text: str | None
    merchant_due_at: Timestamp | None
    review_due_at: Timestamp | None
    refund_reference: str | None
    evidence: list[int]
    ticket_id: int | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def fields(cls, r: RefundRequestView, lang: str, *, masked: bool) -> dict[str, Any]:
        return dict(id=r.id, reference=r.transaction_reference, amount=r.amount, reason_code=r.reason_code,
                    reason=mask_text(r.reason) if masked else r.reason, status=r.status,
                    status_text=status_text(r.status, lang), rejection_code=r.rejection_code,
                    rejection_text=rejection_text(r.rejection_code, lang), merchant_due_at=r.merchant_due_at,
                    review_due_at=r.review_due_at, refund_reference=r.refund_reference, evidence=r.evidence,
                    ticket_id=r.ticket_id, created_at=r.created_at, updated_at=r.updated_at)

    @classmethod
    def of(cls, r: RefundRequestView, lang: str) -> RefundOut:
        return cls(**cls.fields(r, lang, masked=False))


class RefundDetailOut(RefundOut):
    timeline: list[StepOut]
    clawback: ClawbackOut | None

    @classmethod
    def detail(cls, r: RefundRequestView, lang: str, steps: list[TimelineEntry], claw: dict[str, Any] | None, *,
               masked: bool = False) -> RefundDetailOut:
        return cls(**cls.fields(r, lang, masked=masked), timeline=[StepOut.of(e) for e in steps],
                   clawback=ClawbackOut(due=claw["due"], taken=claw["taken"], shortfall=claw["shortfall"])
                   if claw else None)


class AgentRefundOut(RefundDetailOut):
    """What an agent reads: the customer's words masked, and the review's state."""

    customer_id: int
    version: int
    proposed_by: int | None
    decided_by: str | None
    needs_second_approval: bool

    @classmethod
    def agent(cls, r: RefundRequestView, steps: list[TimelineEntry], claw: dict[str, Any] | None, *,
              second: bool) -> AgentRefundOut:
        return cls(**cls.fields(r, "en", masked=True), timeline=[StepOut.of(e) for e in steps],
                   clawback=ClawbackOut(due=claw["due"], taken=claw["taken"], shortfall=claw["shortfall"])
                   if claw else None, customer_id=r.customer_id, version=r.version, proposed_by=r.proposed_by,
                   decided_by=r.decided_by, needs_second_approval=second)


class MerchantRefundOut(Out):
    """What a merchant reads of a request on its payment: no customer's identity, words masked."""

    id: int
    reference: str
    amount: int
    reason_code: str
    reason: str
    status: str
    due_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, r: RefundRequestView) -> MerchantRefundOut:
        return cls(id=r.id, reference=r.transaction_reference, amount=r.amount, reason_code=r.reason_code,
                   reason=mask_text(r.reason), status=r.status, due_at=r.merchant_due_at, created_at=r.created_at)


class MerchantRefundPage(Out):
    items: list[MerchantRefundOut]
