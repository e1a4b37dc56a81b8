"""What an agent sees and does about one customer. PII is masked unless revealed (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header

from ...container import Services
from ...desk.agents import AgentView
from ...platform.audit import Actor
from ..deps import agent_with, services
from ..schemas import FreezeIn, RevealIn, ReverseIn, summary_out, txn_out

router = APIRouter(prefix="/api/v1", tags=["agent"])


@router.get("/customers/{customer_id}")
def customer(customer_id: int, agent: AgentView = Depends(agent_with("customer.view")),
             svc: Services = Depends(services)) -> dict[str, Any]:
    return svc.identity.get(customer_id).masked()


@router.post("/customers/{customer_id}/reveal")
def reveal(customer_id: int, body: RevealIn, agent: AgentView = Depends(agent_with("pii.reveal")),
           svc: Services = Depends(services)) -> dict[str, Any]:
    view = svc.identity.reveal(customer_id, agent_id=agent.id, reason=body.reason)
    return {"phone": view.phone, "email": view.email}


@router.get("/customers/{customer_id}/wallet")
def wallet(customer_id: int, agent: AgentView = Depends(agent_with("customer.view")),
           svc: Services = Depends(services)) -> dict[str, Any]:
    return summary_out(svc.wallet.summary(customer_id))


@router.get("/customers/{customer_id}/transactions")
def transactions(customer_id: int, limit: int = 20, before: str | None = None, status: str | None = None,
                 agent: AgentView = Depends(agent_with("customer.view")),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    items = svc.wallet.list_transactions(customer_id, limit=limit, before=before, status=status)
    return {"items": [txn_out(t) for t in items], "next": items[-1].reference if len(items) == limit else None}


@router.post("/customers/{customer_id}/freeze")
def freeze(customer_id: int, body: FreezeIn, agent: AgentView = Depends(agent_with("account.freeze")),
           svc: Services = Depends(services)) -> dict[str, Any]:
    return svc.identity.freeze(customer_id, actor=Actor.agent(agent.id), reason=body.reason).masked()


@router.post("/transactions/{reference}/reverse")
def reverse(reference: str, body: ReverseIn, idempotency_key: str = Header(..., alias="Idempotency-Key"),
            agent: AgentView = Depends(agent_with("wallet.reverse")),
            svc: Services = Depends(services)) -> dict[str, Any]:
    return txn_out(svc.wallet.reverse(reference, idempotency_key, actor=Actor.agent(agent.id), reason=body.reason))
