"""What an agent sees and does about one customer. PII is masked unless revealed (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...platform.audit import Actor
from ..deps import CanFreeze, CanRevealPii, CanReverse, CanViewCustomers, Svc
from ..params import Before, HistoryLimit
from ..schemas.common import Id, IdempotencyKey
from ..schemas.customer import ContactDetailsOut, CustomerOut, FreezeIn, RevealIn
from ..schemas.wallet import ReverseIn, TransactionOut, TransactionPage, WalletOut

router = APIRouter(prefix="/api/v1", tags=["agent"])

@router.get("/customers/{customer_id}")
def customer(customer_id: Id, _: CanViewCustomers, svc: Svc) -> CustomerOut:
    return CustomerOut.of(svc.identity.get(customer_id))


@router.post("/customers/{customer_id}/reveal")
def reveal(customer_id: Id, body: RevealIn, agent: CanRevealPii, svc: Svc) -> ContactDetailsOut:
    view = svc.identity.reveal(customer_id, agent_id=agent.id, reason=body.reason)
    return ContactDetailsOut(phone=view.phone, email=view.email)


@router.get("/customers/{customer_id}/wallet")
def wallet(customer_id: Id, _: CanViewCustomers, svc: Svc) -> WalletOut:
    return WalletOut.of(svc.wallet.summary(customer_id))


@router.get("/customers/{customer_id}/transactions")
def transactions(customer_id: Id, _: CanViewCustomers, svc: Svc, limit: HistoryLimit = 20,
                 before: Before = None,
                 status: Annotated[str | None, Query(max_length=20)] = None) -> TransactionPage:
    items = svc.wallet.list_transactions(customer_id, limit=limit, before=before, status=status)
    return TransactionPage.of(items, limit)


@router.post("/customers/{customer_id}/freeze")
def freeze(customer_id: Id, body: FreezeIn, agent: CanFreeze, svc: Svc) -> CustomerOut:
    return CustomerOut.of(svc.identity.freeze(customer_id, actor=Actor.agent(agent.id), reason=body.reason))


@router.post("/transactions/{reference}/reverse")
def reverse(reference: str, body: ReverseIn, idempotency_key: IdempotencyKey, agent: CanReverse,
            svc: Svc) -> TransactionOut:
    return TransactionOut.of(svc.wallet.reverse(reference, idempotency_key, actor=Actor.agent(agent.id),
                                                reason=body.reason))
