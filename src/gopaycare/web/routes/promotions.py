"""Cashback campaigns over HTTP: the running ones with their terms (public: the help center),
managing them (`promotion.manage`), and for agents, a payment's cashback decision with every rule
checked (`customer.view`): one look tells why a customer got nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...platform.audit import Actor
from ...platform.i18n import normalize_language
from ..deps import CanGrantPromotions, CanManagePromotions, CanViewCustomers, Svc
from ..schemas.common import Id
from ..schemas.promotions import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignStatusIn,
    CashbackOut,
    DecisionOut,
    GrantIn,
    GrantOut,
    PublicCampaignList,
    PublicCampaignOut,
)

router = APIRouter(prefix="/api/v1", tags=["promotions"])

Lang = Annotated[str | None, Query(max_length=10)]


@router.get("/promotions")
def running(svc: Svc, lang: Lang = None) -> PublicCampaignList:
    """The campaigns running now, with their terms in words (no login: the help center shows them)."""
    lang = normalize_language(lang)
    return PublicCampaignList(items=[PublicCampaignOut.of(c, lang, svc.settings.tz) for c in svc.promotions.running()])


@router.get("/admin/promotions")
def all_campaigns(agent: CanManagePromotions, svc: Svc,
                  status: Annotated[str | None, Query(max_length=8)] = None) -> CampaignList:
    lang = normalize_language(agent.languages[0] if agent.languages else None)
    return CampaignList(items=[CampaignOut.of(c, lang, svc.settings.tz) for c in svc.promotions.list(status=status)])


@router.post("/admin/promotions", status_code=201)
def create(body: CampaignIn, agent: CanManagePromotions, svc: Svc) -> CampaignOut:
    data = body.model_dump()
    view = svc.promotions.create(data.pop("code"), data.pop("titles"), data.pop("starts_at"), data.pop("ends_at"),
                                 actor=Actor.agent(agent.id), **data)
    return CampaignOut.of(view, "en", svc.settings.tz)


@router.post("/admin/promotions/{code}/status")
def set_status(code: str, body: CampaignStatusIn, agent: CanManagePromotions,
               svc: Svc) -> CampaignOut:
    return CampaignOut.of(svc.promotions.set_status(code, body.status, actor=Actor.agent(agent.id)), "en",
                          svc.settings.tz)


@router.post("/customers/{customer_id}/payments/{reference}/cashback")
def grant(customer_id: Id, reference: str, body: GrantIn, agent: CanGrantPromotions, svc: Svc) -> GrantOut:
    """Give the payment a campaign's cashback it did not earn (within the budget; the reason is audited)."""
    return GrantOut(decision=DecisionOut.of(svc.promotions.grant(customer_id, reference, campaign=body.campaign,
                                                                 reason=body.reason, actor=Actor.agent(agent.id))))


@router.get("/customers/{customer_id}/payments/{reference}/cashback")
def cashback(customer_id: Id, reference: str, agent: CanViewCustomers, svc: Svc,
             lang: Lang = None) -> CashbackOut:
    """The payment's cashback decision and every nearby campaign's rules checked against it."""
    lang = normalize_language(lang or (agent.languages[0] if agent.languages else None))
    return CashbackOut.of(svc.promotions.evaluate(customer_id, reference), lang, svc.settings.tz)
