"""Disputes as the customer's app and the agents see them, and the providers' callbacks' answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from ...callbacks.service import CallbackResult
from ...disputes.service import DisputeView, EvidenceView
from ...platform.pii import mask_text
from .common import Id, In, Out, Timestamp

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class EvidenceIn(In):
    kind: str = Field(pattern="^(communication|receipt|shipping_proof|file|note)$",
                      description="communication (with the merchant), receipt, shipping_proof, file, note")
    body: Text


class DisputeIn(In):
    reference: str = Field(min_length=1, max_length=40, description="the payment's reference (GP...)")
    reason: str = Field(pattern="^(unrecognised_charge|not_delivered|not_as_described)$")
    description: str = Field(min_length=3, max_length=2000)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)
    attachments: list[Annotated[Id, Strict()]] = Field(
        default_factory=list, max_length=10,
        description="ids of the customer's own uploads (POST /api/v1/me/attachments)")
    freeze_account: bool = Field(default=False, description="freeze the account at once (unrecognised charge only)")


class MoreEvidenceIn(In):
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)
    attachments: list[Annotated[Id, Strict()]] = Field(default_factory=list, max_length=10)


class MerchantResponseIn(In):
    body: Text


class ReviewIn(In):
    reason: str = Field(min_length=3, max_length=500)


class DecisionIn(In):
    outcome: str = Field(pattern="^(won|lost)$", description="won: the customer is right; lost: they are not")
    reason: str = Field(min_length=3, max_length=500)


class EvidenceOut(Out):
    id: int
    party: str
    kind: str
    body: str
    attachment_id: int | None
    created_at: Timestamp

    @classmethod
    def of(cls, e: EvidenceView, *, masked: bool) -> EvidenceOut:
        return cls(id=e.id, party=e.party, kind=e.kind, body=mask_text(e.body) if masked else e.body,
                   attachment_id=e.attachment_id, created_at=e.created_at)


class DisputeOut(Out):
    id: int
    transaction_reference: str
    amount: int
    reason: str
    status: str
    explanation: str | None = Field(description="what this state means, in the reader's language (customers)")
    ticket_id: int | None
    froze_account: bool
    response_due_at: Timestamp
    provisional_amount: int
    provisional_credited: bool
    provisional_taken_back: int
    provisional_shortfall: int
    refunded: int
    decision_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, d: DisputeView, *, explanation: str | None = None, masked: bool = False) -> DisputeOut:
        return cls(id=d.id, transaction_reference=d.transaction_reference, amount=d.amount, reason=d.reason,
                   status=d.status, explanation=explanation, ticket_id=d.ticket_id, froze_account=d.froze_account,
                   response_due_at=d.response_due_at, provisional_amount=d.provisional_amount,
                   provisional_credited=d.provisional_credited, provisional_taken_back=d.provisional_taken_back,
                   provisional_shortfall=d.provisional_shortfall, refunded=d.refunded,
                   decision_reason=mask_text(d.decision_reason) if masked and d.decision_reason else d.decision_reason,
                   created_at=d.created_at, updated_at=d.updated_at, closed_at=d.closed_at,
                   evidence=[EvidenceOut.of(e, masked=masked) for e in d.evidence])


class CallbackOut(Out):
    received: bool = True
    result: str = Field(description="applied, already_final, unknown_payment, amount_mismatch, not_applicable, ignored")
    duplicate: bool = Field(description="this event was delivered before; nothing was applied again")

    @classmethod
    def of(cls, r: CallbackResult) -> CallbackOut:
        return cls(result=r.result, duplicate=r.duplicate)
