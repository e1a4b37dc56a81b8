"""Rate limits as route dependencies: `@router.post(..., dependencies=[limited("login")])`.

Each kind names the checks a request of that kind counts (platform/ratelimit.py): by client
address, by the account typed in the body, by where a code would go, and a cost for code sends.
They run before the body is validated, so a flood of malformed requests is counted too; and they
are the same whether or not an account exists behind the login (no answer depends on it).
"""

# No `from __future__ import annotations`: FastAPI resolves the dependency's parameters at runtime.
import json
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..identity.contacts import looks_like_email, normalize_email, normalize_phone
from ..platform.errors import ValidationFailed
from ..platform.ratelimit import Check, Limiter
from .deps import Svc


def client_address(request: Request) -> str:
    # uvicorn puts the proxy's X-Forwarded-For here when told to trust it (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


def account_key(login: object) -> str:
    """One key per account however its login is spelled (+62812…, 0812…, Upper@Case)."""
    text = login if isinstance(login, str) else ""
    try:
        return normalize_email(text) if looks_like_email(text) else normalize_phone(text)
    except ValidationFailed:
        return " ".join(text.lower().split())[:200]


async def _body(request: Request) -> dict[str, Any]:
    # FastAPI has read the body already: Starlette keeps it on the request, nothing is read twice.
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _login(ip: str, body: dict[str, Any], _: Request, __: Limiter) -> list[Check]:
    return [Check("login_per_ip", ip), Check("login_per_account", account_key(body.get("login")))]


def _agent_login(ip: str, body: dict[str, Any], _: Request, __: Limiter) -> list[Check]:
    return [Check("agent_login_per_ip", ip), Check("agent_login_per_account", account_key(body.get("email")))]


def _reset(ip: str, body: dict[str, Any], _: Request, __: Limiter) -> list[Check]:
    return [Check("reset_per_ip", ip), Check("reset_per_account", account_key(body.get("login")))]


def _reset_code(ip: str, body: dict[str, Any], _: Request, limiter: Limiter) -> list[Check]:
    channel = body.get("channel") if body.get("channel") in ("sms", "email") else "sms"
    cost = limiter.cost_of_code(channel)
    return [Check("code_requests_per_ip", ip),
            Check("code_requests_per_destination", f"{channel}:{account_key(body.get('login'))}"),
            Check("code_budget_per_ip", ip, cost), Check("code_budget_global", "everyone", cost)]


def _kb_vote(ip: str, _: dict[str, Any], request: Request, __: Limiter) -> list[Check]:
    slug = str(request.path_params.get("slug", ""))[:200]
    return [Check("kb_votes_per_ip", ip), Check("kb_votes_per_article_ip", f"{ip} {slug}")]


CHECKS: dict[str, Callable[[str, dict[str, Any], Request, Limiter], list[Check]]] = {
    "login": _login, "agent_login": _agent_login, "reset": _reset, "reset_code": _reset_code, "kb_vote": _kb_vote,
}


def limited(kind: str) -> Any:
    """The dependency that counts a request of this kind (429 with Retry-After when over)."""
    checks_of = CHECKS[kind]

    async def dependency(request: Request, svc: Svc) -> None:
        checks = checks_of(client_address(request), await _body(request), request, svc.limiter)
        # Off the event loop: with Redis each check is a round trip.
        await run_in_threadpool(svc.limiter.check, checks)

    dependency.__name__ = f"rate_limit_{kind}"
    return Depends(dependency)
