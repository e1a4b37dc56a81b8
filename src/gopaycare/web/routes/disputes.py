"""Disputes: the customer opens, tracks, adds evidence and withdraws; agents review and decide.

A customer reaches only their own cases (another's answers 404). Agents see every case with personal
data masked in its texts; recording the merchant's answer and sending a case to review needs
`refund.request`, deciding it `refund.approve`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ...desk.agents import AgentView
from ...disputes.service import DisputeView
from ...platform import catalog
from ..deps import CanViewCustomers, CustomerId, Svc, agent_with
from ..schemas.common import Id, IdempotencyKey
from ..schemas.disputes import DecisionIn, DisputeIn, DisputeOut, MerchantResponseIn, MoreEvidenceIn, ReviewIn

router = APIRouter(prefix="/api/v1", tags=["disputes"])
CanHandleDisputes = Annotated[AgentView, Depends(agent_with("refund.request"))]
CanDecideDisputes = Annotated[AgentView, Depends(agent_with("refund.approve"))]


def _mine(svc: Svc, customer_id: int, view: DisputeView) -> DisputeOut:
    lang = svc.identity.get(customer_id).language
    return DisputeOut.of(view, explanation=catalog.text("disputes.status", view.status, lang,
                                                        due=view.response_due_at.astimezone(svc.settings.tz)
                                                        .strftime("%Y-%m-%d")))


@router.post("/me/disputes", status_code=201)
def open_dispute(body: DisputeIn, idempotency_key: IdempotencyKey, customer_id: CustomerId, svc: Svc) -> DisputeOut:
    view = svc.disputes.open(customer_id, body.reference, reason=body.reason, description=body.description,
                             idempotency_key=idempotency_key, evidence=[(e.kind, e.body) for e in body.evidence],
                             attachments=body.attachments, freeze_account=body.freeze_account)
    return _mine(svc, customer_id, view)


@router.get("/me/disputes")
def my_disputes(customer_id: CustomerId, svc: Svc) -> list[DisputeOut]:
    return [_mine(svc, customer_id, d) for d in svc.disputes.list(customer_id)]


@router.get("/me/disputes/{dispute_id}")
def my_dispute(dispute_id: Id, customer_id: CustomerId, svc: Svc) -> DisputeOut:
    return _mine(svc, customer_id, svc.disputes.get(customer_id, dispute_id))


@router.post("/me/disputes/{dispute_id}/evidence")
def add_evidence(dispute_id: Id, body: MoreEvidenceIn, customer_id: CustomerId, svc: Svc) -> DisputeOut:
    view = svc.disputes.add_evidence(customer_id, dispute_id, evidence=[(e.kind, e.body) for e in body.evidence],
                                     attachments=body.attachments)
    return _mine(svc, customer_id, view)


@router.post("/me/disputes/{dispute_id}/withdraw")
def withdraw(dispute_id: Id, customer_id: CustomerId, svc: Svc) -> DisputeOut:
    return _mine(svc, customer_id, svc.disputes.withdraw(customer_id, dispute_id))


@router.get("/disputes")
def dispute_queue(_: CanViewCustomers, svc: Svc,
                  status: Annotated[str | None, Query(pattern="^(needs_response|under_review|won|lost|withdrawn)$")]
                  = None) -> list[DisputeOut]:
    return [DisputeOut.of(d, masked=True) for d in svc.disputes.queue(status=status)]


@router.get("/disputes/{dispute_id}")
def dispute(dispute_id: Id, _: CanViewCustomers, svc: Svc) -> DisputeOut:
    return DisputeOut.of(svc.disputes.find(dispute_id), masked=True)


@router.post("/disputes/{dispute_id}/merchant-response")
def merchant_response(dispute_id: Id, body: MerchantResponseIn, agent: CanHandleDisputes, svc: Svc) -> DisputeOut:
    return DisputeOut.of(svc.disputes.record_response(dispute_id, agent_id=agent.id, body=body.body), masked=True)


@router.post("/disputes/{dispute_id}/review")
def review(dispute_id: Id, body: ReviewIn, agent: CanHandleDisputes, svc: Svc) -> DisputeOut:
    return DisputeOut.of(svc.disputes.review(dispute_id, agent_id=agent.id, reason=body.reason), masked=True)


@router.post("/disputes/{dispute_id}/decision")
def decide(dispute_id: Id, body: DecisionIn, agent: CanDecideDisputes, svc: Svc) -> DisputeOut:
    view = svc.disputes.decide(dispute_id, agent_id=agent.id, outcome=body.outcome, reason=body.reason)
    return DisputeOut.of(view, masked=True)
