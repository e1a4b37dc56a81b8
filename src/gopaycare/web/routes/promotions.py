"""Cashback campaigns over HTTP: the running ones with their terms (public: the help center),
managing them (`promotion.manage`), and for agents, a payment's cashback decision with every rule
checked (`customer.view`): one look tells why a customer got nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...container import Services
from ...desk.agents import AgentView
from ...platform.audit import Actor
from ...platform.i18n import normalize_language
from ...promotions.rules import Check
from ...promotions.service import CampaignView, DecisionView
from ...promotions.texts import describe, why
from ..deps import agent_with, services

router = APIRouter(prefix="/api/v1", tags=["promotions"])


class CampaignIn(BaseModel):
    code: str = Field(min_length=3, max_length=24)
    titles: dict[str, str] = Field(min_length=1, max_length=3)
    starts_at: datetime
    ends_at: datetime
    percent: int | None = None
    flat_amount: int | None = None
    max_cashback: int | None = None
    rules: dict[str, Any] = Field(default_factory=dict)
    budget: int | None = None
    credit_delay_hours: int = 0


class GrantIn(BaseModel):
    campaign: str = Field(min_length=3, max_length=24)
    reason: str = Field(min_length=3, max_length=500)


class StatusIn(BaseModel):
    status: Literal["active", "paused", "ended"]


def campaign_out(c: CampaignView, lang: str, svc: Services) -> dict[str, Any]:
    return {"code": c.code, "title": c.title(lang), "titles": c.titles, "status": c.status,
            "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(), "percent": c.percent,
            "flat_amount": c.flat_amount, "max_cashback": c.max_cashback, "rules": c.rules, "budget": c.budget,
            "granted_total": c.granted_total, "credit_delay_hours": c.credit_delay_hours,
            "terms": describe(c, lang, svc.settings.tz)}


def check_out(check: Check, lang: str, svc: Services) -> dict[str, Any]:
    facts = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in check.facts.items()}
    return {"rule": check.rule, "passed": check.passed, "facts": facts,
            "why": None if check.passed else why(check, lang, svc.settings.tz)}


@router.get("/promotions")
def running(lang: str | None = Query(None, max_length=10), svc: Services = Depends(services)) -> dict[str, Any]:
    """The campaigns running now, with their terms in words (no login: the help center shows them)."""
    lang = normalize_language(lang)
    items = svc.promotions.running()
    public = ("code", "title", "starts_at", "ends_at", "percent", "flat_amount", "max_cashback", "rules", "terms")
    return {"items": [{k: v for k, v in campaign_out(c, lang, svc).items() if k in public} for c in items]}


@router.get("/admin/promotions")
def all_campaigns(status: str | None = Query(None, max_length=8), agent: AgentView = Depends(
        agent_with("promotion.manage")), svc: Services = Depends(services)) -> dict[str, Any]:
    lang = normalize_language(agent.languages[0] if agent.languages else None)
    return {"items": [campaign_out(c, lang, svc) for c in svc.promotions.list(status=status)]}


@router.post("/admin/promotions", status_code=201)
def create(body: CampaignIn, agent: AgentView = Depends(agent_with("promotion.manage")),
           svc: Services = Depends(services)) -> dict[str, Any]:
    data = body.model_dump()
    view = svc.promotions.create(data.pop("code"), data.pop("titles"), data.pop("starts_at"), data.pop("ends_at"),
                                 actor=Actor.agent(agent.id), **data)
    return campaign_out(view, "en", svc)


@router.post("/admin/promotions/{code}/status")
def set_status(code: str, body: StatusIn, agent: AgentView = Depends(agent_with("promotion.manage")),
               svc: Services = Depends(services)) -> dict[str, Any]:
    return campaign_out(svc.promotions.set_status(code, body.status, actor=Actor.agent(agent.id)), "en", svc)


def decision_out(d: DecisionView | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"status": d.status, "campaign": d.campaign_code, "amount": d.amount,
            "due_at": d.due_at.isoformat() if d.due_at else None, "cashback_reference": d.cashback_reference,
            "failure_reason": d.failure_reason}


@router.post("/customers/{customer_id}/payments/{reference}/cashback")
def grant(customer_id: int, reference: str, body: GrantIn, agent: AgentView = Depends(agent_with("promotion.grant")),
          svc: Services = Depends(services)) -> dict[str, Any]:
    """Give the payment a campaign's cashback it did not earn (within the budget; the reason is audited)."""
    return {"decision": decision_out(svc.promotions.grant(customer_id, reference, campaign=body.campaign,
                                                          reason=body.reason, actor=Actor.agent(agent.id)))}


@router.get("/customers/{customer_id}/payments/{reference}/cashback")
def cashback(customer_id: int, reference: str, lang: str | None = Query(None, max_length=10),
             agent: AgentView = Depends(agent_with("customer.view")),
             svc: Services = Depends(services)) -> dict[str, Any]:
    """The payment's cashback decision and every nearby campaign's rules checked against it."""
    lang = normalize_language(lang or (agent.languages[0] if agent.languages else None))
    evaluation = svc.promotions.evaluate(customer_id, reference)
    d = evaluation.decision
    return {
        "payment": {"reference": evaluation.payment.reference, "amount": evaluation.payment.amount,
                    "merchant": evaluation.payment.merchant_name, "at": evaluation.payment.created_at.isoformat()},
        "decision": decision_out(d),
        "campaigns": [{"code": r.campaign.code, "title": r.campaign.title(lang), "eligible": r.eligible,
                       "cashback": r.cashback, "checks": [check_out(c, lang, svc) for c in r.checks]}
                      for r in evaluation.results],
    }
