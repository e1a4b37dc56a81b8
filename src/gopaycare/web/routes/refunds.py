"""Refund requests through every way in: the customer's app, an agent on a ticket and the review queue,
and the merchant whose payment it is (merchant API keys: a merchant sees only its own cases)."""

# No `from __future__ import annotations`: the dependencies below are resolved by FastAPI from the
# annotations of their parameters.
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ...desk.access import Viewer
from ...desk.agents import AgentView
from ...platform.audit import Actor
from ...platform.errors import Conflict, Unauthenticated
from ...platform.i18n import normalize_language
from ...refunds.policy import needs_second_approval
from ...refunds.service import RefundRequestView
from ..deps import Credentials, CustomerId, Svc, agent_with, viewer_with
from ..schemas.common import Id, IdempotencyKey, Language
from ..schemas.refunds import (
    AgentRefundOut,
    AmountIn,
    DecisionIn,
    EligibilityOut,
    EvidenceIn,
    MerchantAnswerIn,
    MerchantDeclineIn,
    MerchantRefundOut,
    MerchantRefundPage,
    RefundDetailOut,
    RefundIn,
    RefundOut,
    RejectIn,
)

router = APIRouter(prefix="/api/v1", tags=["refunds"])

CanRequestRefunds = Annotated[AgentView, Depends(agent_with("refund.request"))]
CanApproveRefunds = Annotated[AgentView, Depends(agent_with("refund.approve"))]
RefundViewer = Annotated[Viewer, Depends(viewer_with("refund.request"))]
Status = Annotated[str | None, Query(pattern="^[a-z_]{1,18}$")]
Lang = Annotated[Language | None, Query()]


def current_merchant(credentials: Credentials, svc: Svc) -> int:
    """The merchant whose API key this is; each merchant is held to its rate (429 beyond it)."""
    key = credentials.credentials if credentials is not None else None
    if credentials is None or credentials.scheme.lower() != "bearer" or not key:
        raise Unauthenticated("a merchant API key is required", code="merchant_key_missing")
    merchant_id = svc.merchant_keys.authenticate(key)
    svc.merchant_limiter.check(f"merchant:{merchant_id}")
    return merchant_id


MerchantId = Annotated[int, Depends(current_merchant)]


def _lang(svc: Svc, customer_id: int, lang: str | None) -> str:
    return normalize_language(lang or svc.identity.get(customer_id).language)


def _detail(svc: Svc, r: RefundRequestView, lang: str) -> RefundDetailOut:
    return RefundDetailOut.detail(r, lang, svc.refunds.timeline(r.id, lang), svc.refunds.clawback(r.id))


def _agent(svc: Svc, r: RefundRequestView) -> AgentRefundOut:
    return AgentRefundOut.agent(r, svc.refunds.timeline(r.id, "en"), svc.refunds.clawback(r.id),
                                second=needs_second_approval(svc.settings.refunds, r.amount))


# ---------------------------------------------------------------- the customer


@router.get("/me/refunds/eligibility")
def refund_eligibility(customer_id: CustomerId, svc: Svc, reference: Annotated[str, Query(max_length=40)],
                       lang: Lang = None) -> EligibilityOut:
    """Whether this payment can be refunded now, and why not: its status, the refundable window, and
    what is left after earlier refunds and open requests."""
    return EligibilityOut.of(svc.refunds.eligibility(customer_id, reference), _lang(svc, customer_id, lang))


@router.post("/me/refunds", status_code=201)
def request_refund(body: RefundIn, idempotency_key: IdempotencyKey, customer_id: CustomerId, svc: Svc,
                   lang: Lang = None) -> RefundDetailOut:
    r = svc.refunds.submit(customer_id, body.reference, reason_code=body.reason_code, reason=body.reason,
                           amount=body.amount, evidence=body.evidence, channel="api",
                           idempotency_key=f"c{customer_id}:{idempotency_key}")
    return _detail(svc, r, _lang(svc, customer_id, lang))


@router.get("/me/refunds")
def my_refunds(customer_id: CustomerId, svc: Svc, lang: Lang = None) -> list[RefundOut]:
    language = _lang(svc, customer_id, lang)
    return [RefundOut.of(r, language) for r in svc.refunds.list(customer_id)]


@router.get("/me/refunds/{request_id}")
def my_refund(request_id: Id, customer_id: CustomerId, svc: Svc, lang: Lang = None) -> RefundDetailOut:
    """The request with its timeline: every step, when, and (for a rejection) why, in the customer's language."""
    return _detail(svc, svc.refunds.get_own(customer_id, request_id), _lang(svc, customer_id, lang))


@router.post("/me/refunds/{request_id}/cancel")
def cancel_refund(request_id: Id, customer_id: CustomerId, svc: Svc, lang: Lang = None) -> RefundDetailOut:
    return _detail(svc, svc.refunds.cancel(customer_id, request_id), _lang(svc, customer_id, lang))


@router.post("/me/refunds/{request_id}/evidence")
def add_refund_evidence(request_id: Id, body: EvidenceIn, customer_id: CustomerId, svc: Svc,
                        lang: Lang = None) -> RefundDetailOut:
    return _detail(svc, svc.refunds.add_evidence(customer_id, request_id, body.evidence),
                   _lang(svc, customer_id, lang))


# ---------------------------------------------------------------- agents


@router.post("/tickets/{ticket_id}/refunds", status_code=201)
def refund_on_ticket(ticket_id: Id, body: RefundIn, idempotency_key: IdempotencyKey, viewer: RefundViewer,
                     svc: Svc) -> AgentRefundOut:
    """An agent files a refund request for the ticket's customer (tickets outside their reach: 404)."""
    ticket = svc.desk.tickets.get(viewer, ticket_id)
    customer_id = svc.refunds.desk.customer_on(ticket.contact_id)
    if customer_id is None:
        raise Conflict("this ticket's contact is no wallet customer", code="no_customer")
    r = svc.refunds.submit(customer_id, body.reference, reason_code=body.reason_code, reason=body.reason,
                           amount=body.amount, evidence=body.evidence, ticket_id=ticket_id, channel="agent",
                           idempotency_key=f"t{ticket_id}:{idempotency_key}", actor=Actor.agent(viewer.agent.id))
    return _agent(svc, r)


@router.get("/refunds")
def refund_queue(agent: CanRequestRefunds, svc: Svc, status: Status = "under_review",
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AgentRefundOut]:
    """The review queue (or the requests in another status), oldest first."""
    return [_agent(svc, r) for r in svc.refunds.by_status(status or "under_review", limit=limit)]


@router.get("/refunds/{request_id}")
def refund_for_agent(request_id: Id, agent: CanRequestRefunds, svc: Svc) -> AgentRefundOut:
    return _agent(svc, svc.refunds.get(request_id))


@router.patch("/refunds/{request_id}")
def change_refund_amount(request_id: Id, body: AmountIn, agent: CanRequestRefunds, svc: Svc) -> AgentRefundOut:
    """A corrected amount: the request changes, so an earlier proposal must be made again."""
    return _agent(svc, svc.refunds.change_amount(agent.id, request_id, body.amount, reason=body.reason))


@router.post("/refunds/{request_id}/propose")
def propose_refund(request_id: Id, body: DecisionIn, agent: CanRequestRefunds, svc: Svc) -> AgentRefundOut:
    """The maker: proposes to approve the request as it is now."""
    return _agent(svc, svc.refunds.propose(agent.id, request_id, reason=body.reason))


@router.post("/refunds/{request_id}/approve")
def approve_refund(request_id: Id, body: DecisionIn, agent: CanApproveRefunds, svc: Svc) -> AgentRefundOut:
    """The checker (above the threshold, another agent than the maker): approves, and the money goes back."""
    return _agent(svc, svc.refunds.approve(agent.id, request_id, reason=body.reason))


@router.post("/refunds/{request_id}/reject")
def reject_refund(request_id: Id, body: RejectIn, agent: CanApproveRefunds, svc: Svc) -> AgentRefundOut:
    return _agent(svc, svc.refunds.reject(agent.id, request_id, reason=body.reason,
                                          rejection_code=body.rejection_code))


# ---------------------------------------------------------------- merchants


@router.get("/merchant/refunds")
def merchant_refunds(merchant_id: MerchantId, svc: Svc, status: Status = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 100) -> MerchantRefundPage:
    return MerchantRefundPage(items=[MerchantRefundOut.of(r) for r in
                                     svc.refunds.for_merchant(merchant_id, status=status, limit=limit)])


@router.get("/merchant/refunds/{request_id}")
def merchant_refund(request_id: Id, merchant_id: MerchantId, svc: Svc) -> MerchantRefundOut:
    return MerchantRefundOut.of(svc.refunds.of_merchant(merchant_id, request_id))


@router.post("/merchant/refunds/{request_id}/accept")
def merchant_accept(request_id: Id, body: MerchantAnswerIn, merchant_id: MerchantId, svc: Svc) -> MerchantRefundOut:
    return MerchantRefundOut.of(svc.refunds.merchant_accept(merchant_id, request_id, reason=body.reason))


@router.post("/merchant/refunds/{request_id}/decline")
def merchant_decline(request_id: Id, body: MerchantDeclineIn, merchant_id: MerchantId,
                     svc: Svc) -> MerchantRefundOut:
    return MerchantRefundOut.of(svc.refunds.merchant_decline(merchant_id, request_id, reason=body.reason))
