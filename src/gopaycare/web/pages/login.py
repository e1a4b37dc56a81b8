"""Signing in to the console (password, then the TOTP code when the agent enrolled one), out, and presence."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...container import Services
from ...platform.audit import Actor
from ...platform.errors import Unauthenticated
from . import session
from .auth import posted
from .forms import read_form, text_field
from .render import page

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login")
def login_page(request: Request) -> Response:
    return page(request, "console/login.html", {"email": "", "totp": False, "error": None, "session": ""})


@router.post("/login")
async def login(request: Request) -> Response:
    svc: Services = request.app.state.services
    form = await read_form(request)
    # Before a session there is none to bind to: the token is signed with an empty session.
    session.check_csrf(request, svc.settings.secret_key, form.get(session.CSRF_FIELD))
    email = text_field(form, "email", required=False, max_length=254)
    try:
        result = svc.agents.login(email, form.get("password", "")[:200], form.get("totp_code", "").strip()[:12] or None)
    except Unauthenticated as exc:
        needs_code = exc.code == "totp_required" or bool(form.get("totp_code"))
        return page(request, "console/login.html", {"email": email, "totp": needs_code, "session": "",
                                                    "error": "totp_required" if exc.code == "totp_required"
                                                    else "login_failed"}, status=401)
    response = RedirectResponse("/console/inbox", status_code=303)
    session.set_cookie(response, request, session.SESSION_COOKIE, result.token,
                       max_age=int(svc.agents.session_ttl.total_seconds()))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    who, _ = await posted(request)
    who.svc.agents.revoke(who.token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(session.SESSION_COOKIE, path="/")
    return response


@router.post("/presence")
async def presence(request: Request) -> Response:
    who, form = await posted(request)
    who.svc.desk.routing.set_presence(who.agent.id, form.get("presence", "")[:10], actor=Actor.agent(who.agent.id))
    back = form.get("next", "")
    # Only a path of ours: never an open redirect.
    target = back if back.startswith("/console/") and "//" not in back and "\\" not in back else "/console/inbox"
    return RedirectResponse(target, status_code=303)


def signed_out(request: Request) -> Response:
    """No valid session: partials answer 401 (the page's script reloads), pages the sign-in form."""
    if request.headers.get("hx-request") or request.method != "GET":
        return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
    return RedirectResponse("/console/login", status_code=303)

