"""Who is using the console: the agent of the session cookie, checked exactly as the API checks a
bearer token (`AgentDirectory.authenticate`), with the same `customer.view` floor as `DeskViewer`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ...container import Services
from ...desk.access import Viewer
from ...desk.agents import AgentView
from ...platform.errors import DomainError, PermissionDenied
from . import session
from .forms import read_form


class SignInNeeded(Exception):
    """No valid session: a page answers with the sign-in page, a partial with 401."""


@dataclass(frozen=True)
class Console:
    svc: Services
    agent: AgentView
    viewer: Viewer
    token: str


def console(request: Request) -> Console:
    svc: Services = request.app.state.services
    token = session.session_token(request)
    if not token:
        raise SignInNeeded()
    try:
        agent = svc.agents.authenticate(token)
    except DomainError:
        raise SignInNeeded() from None
    if not agent.can("customer.view"):
        raise PermissionDenied("this needs the customer.view permission", permission="customer.view")
    return Console(svc, agent, svc.desk.viewer(agent), token)


async def posted(request: Request) -> tuple[Console, dict[str, str]]:
    """A state-changing request: a signed-in agent, the form read, and its CSRF token checked first."""
    who = console(request)
    form = await read_form(request)
    session.check_csrf(request, who.svc.settings.secret_key, form.get(session.CSRF_FIELD))
    return who, form


def require(who: Console, permission: str) -> None:
    """The permission the matching API route asks for (web/deps.py), checked on the server."""
    if not who.agent.can(permission):
        raise PermissionDenied(f"this needs the {permission} permission", permission=permission)
