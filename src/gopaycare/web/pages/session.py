"""The pages' cookie session, CSRF tokens and language choice.

The session cookie holds the same agent session token `POST /api/v1/agent/login` hands out (one
login, one revocation, one check: `AgentDirectory.authenticate`), HttpOnly so no script reads it,
SameSite=Strict so no other site's page sends it, Secure when the request came over TLS.

CSRF: a signed double-submit token. A random nonce lives in its own cookie; every form carries
HMAC(secret, nonce | session token), and a POST whose field (or `X-CSRF-Token` header, for htmx)
does not match is refused. Signing with the session token means a nonce planted by a sibling
domain is useless without the victim's session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from ...platform.errors import PermissionDenied
from ...platform.i18n import LANGUAGES, normalize_language

SESSION_COOKIE = "gpc_session"
CSRF_COOKIE = "gpc_csrf"
LANG_COOKIE = "gpc_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600  # the agent session's default lifetime (GOPAYCARE_AGENT_SESSION_TTL_SECONDS)


def secure(request: Request) -> bool:
    return request.url.scheme in ("https", "wss")


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure(request),
                        path="/")


def session_token(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")[:200]


def csrf_nonce(request: Request) -> str:
    """The nonce of this browser (a new one when it has none; `remember_nonce` sets its cookie)."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not (20 <= len(nonce) <= 64 and nonce.isascii() and nonce.replace("-", "").replace("_", "").isalnum()):
        nonce = getattr(request.state, "csrf_nonce", None) or secrets.token_urlsafe(24)
    request.state.csrf_nonce = nonce
    return nonce


def remember_nonce(request: Request, response: Response) -> None:
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
        set_cookie(response, request, CSRF_COOKIE, nonce)


def csrf_token(request: Request, secret: str, session: str | None = None) -> str:
    message = f"{csrf_nonce(request)}|{session if session is not None else session_token(request)}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, secret: str, submitted: str | None, session: str | None = None) -> None:
    """Refuse a state-changing request without this browser's token (403, nothing done). `session`:
    the session the token is bound to (the customer pages' or the merchant page's own cookie; the
    agent's by default)."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    submitted = submitted or request.headers.get(CSRF_HEADER, "")
    if not nonce or not submitted:
        raise PermissionDenied("the form has expired: reload the page", code="csrf_failed")
    bound = session if session is not None else session_token(request)
    expected = hmac.new(secret.encode(), f"{nonce}|{bound}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, submitted[:128]):
        raise PermissionDenied("the form has expired: reload the page", code="csrf_failed")


def accepted_language(header: str | None) -> str | None:
    """The first of our languages in an Accept-Language header, by its q weight."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        base = tag.strip().lower()
        if base.startswith(("zh", "en", "id", "in")):
            choices.append((-weight, position, normalize_language(base)))
    return min(choices)[2] if choices else None


def language(request: Request) -> str:
    """`?lang=` (the switch), else the cookie the switch set, else the browser's Accept-Language."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGUAGES:
            return asked
    return accepted_language(request.headers.get("accept-language")) or "zh-CN"
