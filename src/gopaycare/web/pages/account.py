"""The customer's "My account" pages (docs/adr/0025-customer-pages.md): sign-in with phone and password,
transaction history with each failed payment's reason and "Apply for refund" on eligible rows, the
refund form, my requests (conversations and refunds as one timeline), running promotions.

The session cookie `gpc_customer` holds an ordinary customer session token from
`IdentityService.login_with_password` (the API's login: same limits, same lockout, same revocation),
HttpOnly and SameSite=Strict. Every page asks the services the `/api/v1/me/...` routes ask, with the
customer id of that session only: another customer's reference or request answers 404.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...attachments.store import Refused
from ...container import Services
from ...desk.customer_side import Party
from ...identity.contacts import looks_like_email, normalize_email, normalize_phone
from ...platform.catalog import text
from ...platform.errors import DomainError, PermissionDenied, Unauthenticated, ValidationFailed
from ...platform.ratelimit import Check
from ...promotions.texts import describe
from ...refunds.models import REASONS
from . import session
from .forms import int_field, read_form, text_field
from .render import page

router = APIRouter(prefix="/account", include_in_schema=False)
CUSTOMER_COOKIE = "gpc_customer"
HISTORY_ROWS = 50


class CustomerSignInNeeded(Exception):
    """No valid customer session: the sign-in page (or 401 for a POST)."""


@dataclass(frozen=True)
class Me:
    svc: Services
    customer_id: int
    token: str


def customer_token(request: Request) -> str:
    return request.cookies.get(CUSTOMER_COOKIE, "")[:200]


def me(request: Request) -> Me:
    svc: Services = request.app.state.services
    token = customer_token(request)
    if not token:
        raise CustomerSignInNeeded()
    try:
        customer_id = svc.identity.authenticate(token)
    except DomainError:
        raise CustomerSignInNeeded() from None
    return Me(svc, customer_id, token)


def maybe_me(request: Request) -> Me | None:
    try:
        return me(request)
    except CustomerSignInNeeded:
        return None


async def posted(request: Request) -> tuple[Me, dict[str, str]]:
    """A state-changing request: a signed-in customer, the form read, its CSRF token checked first."""
    who = me(request)
    form = await read_form(request)
    session.check_csrf(request, who.svc.settings.secret_key, form.get(session.CSRF_FIELD), session=who.token)
    return who, form


def customer_page(request: Request, template: str, context: dict[str, Any], *, who: Me | None = None,
                  status: int = 200) -> Response:
    """A customer page: words from the `customer` catalog context, the CSRF token bound to the
    customer's session (or to none before sign-in)."""
    who = who if who is not None else maybe_me(request)
    svc: Services = request.app.state.services
    return page(request, template, {"signed_in": who is not None, "tz": svc.settings.tz, **context,
                                    "session": who.token if who else ""},
                status=status, texts="customer")


def signed_out(request: Request) -> Response:
    if request.method != "GET":
        return Response(status_code=401)
    return RedirectResponse("/account/login", status_code=303)


# ---------------------------------------------------------------- sign-in


@router.get("/login")
def login_page(request: Request) -> Response:
    return customer_page(request, "customer/login.html", {"login": "", "error": None}, who=None)


def _account_key(login: str) -> str:
    try:
        return normalize_email(login) if looks_like_email(login) else normalize_phone(login)
    except DomainError:
        return " ".join(login.lower().split())[:200]


@router.post("/login")
async def login(request: Request) -> Response:
    svc: Services = request.app.state.services
    form = await read_form(request)
    session.check_csrf(request, svc.settings.secret_key, form.get(session.CSRF_FIELD), session="")
    login_name = text_field(form, "login", required=False, max_length=254)
    # The API's login limits (web/ratelimits.py), counted the same way.
    ip = request.client.host if request.client else "unknown"
    await run_in_threadpool(svc.limiter.check, [Check("login_per_ip", ip),
                                                Check("login_per_account", _account_key(login_name))])
    try:
        result = await run_in_threadpool(svc.identity.login_with_password, login_name,
                                         form.get("password", "")[:200])
    except (Unauthenticated, ValidationFailed):
        return customer_page(request, "customer/login.html", {"login": login_name, "error": "login_failed"},
                             who=None, status=401)
    except PermissionDenied:  # locked or frozen: said only to whoever gave the password
        return customer_page(request, "customer/login.html", {"login": login_name, "error": "account_locked"},
                             who=None, status=403)
    response = RedirectResponse("/account", status_code=303)
    session.set_cookie(response, request, CUSTOMER_COOKIE, result.token,
                       max_age=max(int((result.expires_at - svc.clock.now()).total_seconds()), 0))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    who, _ = await posted(request)
    who.svc.identity.logout(who.token)
    response = RedirectResponse("/account/login", status_code=303)
    response.delete_cookie(CUSTOMER_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- history


def failure_text(reason: str | None, lang: str) -> str:
    if not reason:
        return ""
    key = f"failure_{reason}"
    try:
        return text("customer", key, lang)
    except KeyError:
        return text("customer", "failure_other", lang, reason=reason)


@router.get("")
@router.get("/history")
def history(request: Request) -> Response:
    who = me(request)
    lang = session.language(request)
    wallet = who.svc.wallet.summary(who.customer_id)
    rows = []
    for txn in who.svc.wallet.list_transactions(who.customer_id, limit=HISTORY_ROWS):
        eligible = txn.kind == "payment" and who.svc.refunds.eligibility(who.customer_id, txn.reference).eligible
        rows.append({"txn": txn, "eligible": eligible, "failure": failure_text(txn.failure_reason, lang)})
    return customer_page(request, "customer/history.html", {"rows": rows, "wallet": wallet}, who=who)


# ---------------------------------------------------------------- refunds


@router.get("/refunds/new")
def refund_form(request: Request) -> Response:
    who = me(request)
    reference = text_field(dict(request.query_params), "reference", max_length=40)
    lang = session.language(request)
    found = who.svc.refunds.eligibility(who.customer_id, reference)  # another's reference: 404
    txn = who.svc.wallet.get_transaction(found.reference)
    return customer_page(request, "customer/refund.html", {
        "found": found, "txn": txn, "explain": found.explain(lang), "reasons": REASONS, "error": None,
        "key": secrets.token_urlsafe(16), "form": {}}, who=who)


@router.post("/refunds")
async def refund_submit(request: Request) -> Response:
    who, form = await posted(request)
    reference = text_field(form, "reference", max_length=40)
    reason_code = text_field(form, "reason_code", max_length=40)
    if reason_code not in REASONS:
        raise ValidationFailed(f"reason_code must be one of {', '.join(REASONS)}", field="reason_code")
    reason = text_field(form, "reason", required=False, max_length=1000)
    amount = int_field(form, "amount")
    key = text_field(form, "key", max_length=64)
    r = who.svc.refunds.submit(who.customer_id, reference, reason_code=reason_code, reason=reason, amount=amount,
                               channel="web", idempotency_key=f"c{who.customer_id}:web:{key}")
    return RedirectResponse(f"/account/requests#refund-{r.id}", status_code=303)


# ---------------------------------------------------------------- my requests, promotions


@router.get("/requests")
def requests(request: Request) -> Response:
    who = me(request)
    lang = session.language(request)
    items: list[dict[str, Any]] = []
    for r in who.svc.refunds.list(who.customer_id):
        steps = who.svc.refunds.timeline(r.id, lang)
        items.append({"kind": "refund", "at": r.created_at, "refund": r, "steps": steps,
                      "status": text("refunds.status", r.status, lang)})
    for c in who.svc.desk.customer_side.conversations(Party.customer(who.customer_id), limit=50):
        items.append({"kind": "conversation", "at": c.created_at, "conversation": c})
    items.sort(key=lambda item: item["at"], reverse=True)
    return customer_page(request, "customer/requests.html", {"items": items}, who=who)


def promotions_of(svc: Services, lang: str) -> list[dict[str, Any]]:
    return [{"code": c.code, "title": c.title(lang), "terms": describe(c, lang, svc.settings.tz),
             "ends_at": c.ends_at} for c in svc.promotions.running()]


@router.get("/promotions")
def promotions(request: Request) -> Response:
    who = me(request)
    return customer_page(request, "customer/promotions.html",
                         {"campaigns": promotions_of(who.svc, session.language(request))}, who=who)


# ---------------------------------------------------------------- the widget on these pages


@router.post("/chat/ticket")
async def chat_ticket(request: Request) -> Response:
    """The chat widget on a signed-in customer's page: a single-use ticket for the chat socket standing
    for this cookie's session (the cookie is HttpOnly, so no script could hand its token to the widget),
    and the conversation to go on in. CSRF-checked like every POST (the widget sends `X-CSRF-Token`)."""
    who, _ = await posted(request)
    ticket, ttl = who.svc.socket_tickets.issue("chat", token=who.token)
    latest = who.svc.desk.customer_side.conversations(Party.customer(who.customer_id), limit=1)
    going_on = latest[0].id if latest and latest[0].status == "open" and latest[0].channel in ("chat", "web") \
        else None
    return JSONResponse({"ticket": ticket, "expires_in_seconds": ttl, "conversation_id": going_on},
                        headers={"Cache-Control": "no-store"})


@router.post("/chat/attachments", status_code=201)
async def chat_attachment(request: Request, name: str | None = Query(None, max_length=200)) -> Response:
    """A file for the widget's next message on these pages: the raw body, stored by the same
    `Files.save` as `POST /api/v1/me/attachments` (same limits, sniffing and room check)."""
    who = me(request)
    session.check_csrf(request, who.svc.settings.secret_key, None, session=who.token)  # X-CSRF-Token
    if name is not None and "\x00" in name:
        raise ValidationFailed("NUL characters are not allowed", field="name")
    await run_in_threadpool(who.svc.files.check_room, who.customer_id)
    limit = who.svc.files.limits.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        raise Refused("too_large", f"the file is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused("too_large", f"the file is larger than {limit} bytes")
        chunks.append(chunk)
    stored = await run_in_threadpool(lambda: who.svc.files.save(
        b"".join(chunks), origin="chat", declared_type=request.headers.get("content-type"), name=name,
        customer_id=who.customer_id))
    return JSONResponse({"id": stored.id, "name": stored.name}, status_code=201, headers={"Cache-Control": "no-store"})
