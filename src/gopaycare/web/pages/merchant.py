"""The merchant page (docs/adr/0027-assistant-disputes-merchant-page.md): a merchant signs in with its
merchant API key, lists its refund requests and disputes with their due dates, accepts or declines a
refund (with a reason), answers a dispute with evidence or accepts it.

The console's machinery (ADR 0022): server-rendered, the catalogs' texts (context "merchant"), the same
form reader and signed double-submit CSRF token, here bound to the merchant's session cookie. Every call
goes through the services the merchant API calls, as this merchant: another merchant's case is 404, and
the customer's words are masked as on the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...container import Services
from ...platform import catalog
from ...platform.errors import DomainError, NotFound, Unauthenticated
from . import session
from .forms import read_form, text_field
from .render import page

router = APIRouter(prefix="/merchant", include_in_schema=False)
COOKIE = "gpm_session"
MAX_ID = 2**63 - 1
EVIDENCE_KINDS = ("merchant_response", "shipping_proof", "receipt", "communication", "note")


class MerchantSignInNeeded(Exception):
    """No valid merchant session: the sign-in page (a POST: 401)."""


@dataclass(frozen=True)
class Shop:
    svc: Services
    merchant_id: int
    token: str


def shop(request: Request) -> Shop:
    svc: Services = request.app.state.services
    token = request.cookies.get(COOKIE, "")[:200]
    if not token:
        raise MerchantSignInNeeded()
    try:
        merchant_id = svc.merchant_keys.session(token)
    except DomainError:
        raise MerchantSignInNeeded() from None
    svc.merchant_limiter.check(f"merchant:{merchant_id}")  # the merchant API's rate, one budget for both
    return Shop(svc, merchant_id, token)


async def posted(request: Request) -> tuple[Shop, dict[str, str]]:
    who = shop(request)
    form = await read_form(request)
    session.check_csrf(request, who.svc.settings.secret_key, form.get(session.CSRF_FIELD), session=who.token)
    return who, form


def id_of(raw: str, what: str) -> int:
    """A path id: digits only, within BIGINT (a huge or odd one answers 404 like a missing case)."""
    if not raw.isdecimal() or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound(f"{what} not found")
    return int(raw)


def signed_out(request: Request) -> Response:
    if request.method != "GET":
        return Response(status_code=401, headers={"HX-Redirect": "/merchant/login"})
    return RedirectResponse("/merchant/login", status_code=303)


def _render(request: Request, who: Shop | None, template: str, context: dict[str, object],
            status: int = 200) -> Response:
    name = who.svc.wallet.merchant(who.merchant_id).name if who is not None else ""
    lang = session.language(request)
    return page(request, f"merchant/{template}", {
        "session": who.token if who else "", "shop_name": name, "signed_in": who is not None,
        "refund_status": lambda status: catalog.lookup("refunds.status", status, lang) or status, **context},
        status=status)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _render(request, None, "login.html", {"error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    svc: Services = request.app.state.services
    form = await read_form(request)
    session.check_csrf(request, svc.settings.secret_key, form.get(session.CSRF_FIELD), session="")
    key = text_field(form, "key", required=False, max_length=128)
    try:
        merchant_id, token = svc.merchant_keys.sign_in(key)
    except Unauthenticated:
        return _render(request, None, "login.html", {"error": "login_failed"}, status=401)
    svc.merchant_limiter.check(f"merchant:{merchant_id}")
    response = RedirectResponse("/merchant/cases", status_code=303)
    session.set_cookie(response, request, COOKIE, token, max_age=12 * 3600)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await posted(request)
    response = RedirectResponse("/merchant/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/cases")
def cases(request: Request) -> Response:
    who = shop(request)
    refunds = who.svc.refunds.for_merchant(who.merchant_id, limit=100)
    disputes = who.svc.disputes.for_merchant(who.merchant_id, limit=100)
    return _render(request, who, "cases.html", {"refunds": refunds, "disputes": disputes})


@router.get("/refunds/{raw_id}")
def refund(request: Request, raw_id: str) -> Response:
    who = shop(request)
    case = who.svc.refunds.of_merchant(who.merchant_id, id_of(raw_id, "refund request"))
    return _render(request, who, "refund.html", {"case": case})


@router.post("/refunds/{raw_id}/accept")
async def refund_accept(request: Request, raw_id: str) -> Response:
    who, form = await posted(request)
    request_id = id_of(raw_id, "refund request")
    reason = text_field(form, "reason", required=False, max_length=500) or None
    who.svc.refunds.merchant_accept(who.merchant_id, request_id, reason=reason)
    return RedirectResponse(f"/merchant/refunds/{request_id}", status_code=303)


@router.post("/refunds/{raw_id}/decline")
async def refund_decline(request: Request, raw_id: str) -> Response:
    who, form = await posted(request)
    request_id = id_of(raw_id, "refund request")
    who.svc.refunds.of_merchant(who.merchant_id, request_id)  # another merchant's case: 404 before the form
    who.svc.refunds.merchant_decline(who.merchant_id, request_id, reason=text_field(form, "reason", max_length=500))
    return RedirectResponse(f"/merchant/refunds/{request_id}", status_code=303)


@router.get("/disputes/{raw_id}")
def dispute(request: Request, raw_id: str) -> Response:
    who = shop(request)
    case = who.svc.disputes.of_merchant(who.merchant_id, id_of(raw_id, "dispute"))
    return _render(request, who, "dispute.html", {"case": case, "kinds": EVIDENCE_KINDS})


@router.post("/disputes/{raw_id}/evidence")
async def dispute_evidence(request: Request, raw_id: str) -> Response:
    who, form = await posted(request)
    dispute_id = id_of(raw_id, "dispute")
    who.svc.disputes.of_merchant(who.merchant_id, dispute_id)
    kind = form.get("kind", "")[:40]
    who.svc.disputes.merchant_evidence(who.merchant_id, dispute_id, kind=kind,
                                       body=text_field(form, "body", max_length=2000))
    return RedirectResponse(f"/merchant/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/{raw_id}/accept")
async def dispute_accept(request: Request, raw_id: str) -> Response:
    who, _ = await posted(request)
    dispute_id = id_of(raw_id, "dispute")
    who.svc.disputes.merchant_accept(who.merchant_id, dispute_id)
    return RedirectResponse(f"/merchant/disputes/{dispute_id}", status_code=303)
