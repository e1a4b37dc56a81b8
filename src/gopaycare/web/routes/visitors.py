"""Anonymous web visitors of the chat widget: a signed visitor token without a login.

`POST /api/v1/chat/visitors` (no authentication) with `{}` gives a new visitor token; with
`{"token": …}` it renews that one (same visitor, new expiry). The widget then uses it as the
chat's token: the live socket (`/api/v1/me/chat/ws?token=gpv.…`), `POST /api/v1/me/assistant` and
the conversation reads. A
client address may ask a bounded number of times a minute (GOPAYCARE_VISITOR_TOKENS_PER_MINUTE);
nothing is stored until the visitor writes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import NO_STORE, Svc
from ..schemas.visitors import VisitorIn, VisitorOut

router = APIRouter(prefix="/api/v1/chat", tags=["customer"])


@router.post("/visitors", status_code=201, dependencies=NO_STORE)
def new_visitor(body: VisitorIn, request: Request, svc: Svc) -> VisitorOut:
    svc.visitor_limiter.check(request.client.host if request.client else "unknown")
    visitor_id = svc.visitors.verify(body.token) if body.token is not None else None
    return VisitorOut.of(svc.visitors.issue(visitor_id))
