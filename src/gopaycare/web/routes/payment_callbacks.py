"""`POST /webhooks/payments/{provider}`: a payment provider says a pending payment or top-up settled.

The raw body is read because signatures are over the exact bytes. A bad or missing signature answers
401 and stores nothing; a signed callback is answered 200 whatever became of it (applied, a duplicate,
an unknown payment...), so the provider stops resending what we have recorded (callbacks/service.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from starlette.concurrency import run_in_threadpool

from ...callbacks.providers import ProviderEvent, midtrans_event, stripe_event
from ...platform.errors import NotFound
from ..deps import Svc
from ..schemas.disputes import CallbackOut
from .webhooks import _raw

router = APIRouter(prefix="/webhooks/payments", tags=["webhooks"])


@router.post("/{provider}")
async def payment_callback(provider: Annotated[str, Path(max_length=32)], request: Request, svc: Svc,
                           stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature",
                                                                          max_length=1000)] = None) -> CallbackOut:
    """Midtrans HTTP notifications (`/webhooks/payments/midtrans`, signed by `signature_key`) and Stripe
    events (`/webhooks/payments/stripe`, signed in the `Stripe-Signature` header)."""
    if provider not in ("midtrans", "stripe"):
        raise NotFound("no such payment provider", provider=provider[:32])
    raw = await _raw(request)
    settings = svc.settings

    def read() -> ProviderEvent:
        if provider == "midtrans":
            return midtrans_event(raw, settings.midtrans_server_key)
        return stripe_event(raw, stripe_signature, settings.stripe_webhook_secret, now=svc.clock.now(),
                            tolerance_seconds=settings.stripe_tolerance_seconds)

    return CallbackOut.of(await run_in_threadpool(lambda: svc.payment_callbacks.take(read())))
