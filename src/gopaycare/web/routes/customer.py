"""The customer's own API (what the GoPay app calls): login, recovery, wallet, payments."""

from __future__ import annotations

from fastapi import APIRouter

from ...identity.service import DeviceInfo
from ...platform.errors import ValidationFailed
from ..deps import NO_STORE, CustomerId, Svc
from ..params import Before, HistoryLimit
from ..schemas.common import IdempotencyKey
from ..schemas.customer import CodeRequestIn, LoginIn, LoginOut, ResetCodeOut, ResetIn
from ..schemas.wallet import PaymentIn, TopupIn, TransactionOut, TransactionPage, WalletOut

router = APIRouter(prefix="/api/v1", tags=["customer"])


@router.post("/auth/login", dependencies=NO_STORE)
def login(body: LoginIn, svc: Svc) -> LoginOut:
    device = DeviceInfo(body.device_key, body.platform, body.os_version, body.app_version) if body.device_key else None
    if (body.password is None) == (body.pin is None):
        raise ValidationFailed("give either a password or a PIN", field="password")
    if body.password is not None:
        result = svc.identity.login_with_password(body.login, body.password, device)
    else:
        result = svc.identity.login_with_pin(body.login, body.pin or "", device)
    return LoginOut.of(result)


@router.post("/auth/reset-codes", status_code=202)
def request_reset_code(body: CodeRequestIn, svc: Svc) -> ResetCodeOut:
    """The same answer whether or not the login exists (no account discovery)."""
    svc.recovery.start_reset(body.login, body.what, body.channel)
    return ResetCodeOut(status="sent_if_registered", channel=body.channel,
                        expires_in_seconds=svc.settings.code_ttl_seconds,
                        resend_after_seconds=svc.settings.code_resend_interval_seconds)


@router.post("/auth/reset", status_code=204)
def reset(body: ResetIn, svc: Svc) -> None:
    svc.recovery.reset(body.login, body.what, body.code, body.new_secret)


@router.get("/me/wallet")
def my_wallet(customer_id: CustomerId, svc: Svc) -> WalletOut:
    return WalletOut.of(svc.wallet.summary(customer_id))


@router.get("/me/transactions")
def my_transactions(customer_id: CustomerId, svc: Svc, limit: HistoryLimit = 20,
                    before: Before = None) -> TransactionPage:
    return TransactionPage.of(svc.wallet.list_transactions(customer_id, limit=limit, before=before), limit)


@router.post("/me/payments")
def pay(body: PaymentIn, idempotency_key: IdempotencyKey, customer_id: CustomerId, svc: Svc) -> TransactionOut:
    return TransactionOut.of(svc.payments.pay(customer_id, body.merchant_id, body.amount, body.pin, idempotency_key,
                                              channel=body.channel))


@router.post("/me/topups")
def topup(body: TopupIn, idempotency_key: IdempotencyKey, customer_id: CustomerId, svc: Svc) -> TransactionOut:
    return TransactionOut.of(svc.wallet.topup(customer_id, body.amount, body.method, idempotency_key))
