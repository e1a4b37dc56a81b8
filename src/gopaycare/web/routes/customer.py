"""The customer's own API (what the GoPay app calls): login, recovery, wallet, payments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header

from ...container import Services
from ...identity.service import DeviceInfo
from ...platform.errors import ValidationFailed
from ..deps import current_customer, services
from ..schemas import CodeRequestIn, LoginIn, PaymentIn, ResetIn, TopupIn, summary_out, txn_out

router = APIRouter(prefix="/api/v1", tags=["customer"])


@router.post("/auth/login")
def login(body: LoginIn, svc: Services = Depends(services)) -> dict[str, Any]:
    device = DeviceInfo(body.device_key, body.platform, body.os_version, body.app_version) if body.device_key else None
    if (body.password is None) == (body.pin is None):
        raise ValidationFailed("give either a password or a PIN", field="password")
    if body.password is not None:
        result = svc.identity.login_with_password(body.login, body.password, device)
    else:
        result = svc.identity.login_with_pin(body.login, body.pin or "", device)
    return {"token": result.token, "customer_id": result.customer_id, "expires_at": result.expires_at.isoformat()}


@router.post("/auth/reset-codes", status_code=202)
def request_reset_code(body: CodeRequestIn, svc: Services = Depends(services)) -> dict[str, Any]:
    """The same answer whether or not the login exists (no account discovery)."""
    svc.recovery.start_reset(body.login, body.what, body.channel)
    return {"status": "sent_if_registered", "channel": body.channel,
            "expires_in_seconds": svc.settings.code_ttl_seconds,
            "resend_after_seconds": svc.settings.code_resend_interval_seconds}


@router.post("/auth/reset", status_code=204)
def reset(body: ResetIn, svc: Services = Depends(services)) -> None:
    svc.recovery.reset(body.login, body.what, body.code, body.new_secret)


@router.get("/me/wallet")
def my_wallet(customer_id: int = Depends(current_customer), svc: Services = Depends(services)) -> dict[str, Any]:
    return summary_out(svc.wallet.summary(customer_id))


@router.get("/me/transactions")
def my_transactions(limit: int = 20, before: str | None = None, customer_id: int = Depends(current_customer),
                    svc: Services = Depends(services)) -> dict[str, Any]:
    items = svc.wallet.list_transactions(customer_id, limit=limit, before=before)
    return {"items": [txn_out(t) for t in items], "next": items[-1].reference if len(items) == limit else None}


@router.post("/me/payments")
def pay(body: PaymentIn, idempotency_key: str = Header(..., alias="Idempotency-Key"),
        customer_id: int = Depends(current_customer), svc: Services = Depends(services)) -> dict[str, Any]:
    return txn_out(svc.payments.pay(customer_id, body.merchant_id, body.amount, body.pin, idempotency_key,
                                    channel=body.channel))


@router.post("/me/topups")
def topup(body: TopupIn, idempotency_key: str = Header(..., alias="Idempotency-Key"),
          customer_id: int = Depends(current_customer), svc: Services = Depends(services)) -> dict[str, Any]:
    return txn_out(svc.wallet.topup(customer_id, body.amount, body.method, idempotency_key))
