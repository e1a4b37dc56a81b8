"""Request dependencies: the services, the authenticated agent or customer."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..container import Services
from ..desk.agents import AgentView
from ..platform.errors import PermissionDenied, Unauthenticated

bearer = HTTPBearer(auto_error=False)


def services(request: Request) -> Services:
    return request.app.state.services


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required", code="token_missing")
    return credentials.credentials


def agent_with(permission: str) -> Callable[..., AgentView]:
    """An agent who holds `permission`; checked on the server for every call."""

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        svc: Services = Depends(services),
    ) -> AgentView:
        agent = svc.agents.authenticate(_token(credentials))
        if not agent.can(permission):
            raise PermissionDenied(f"this needs the {permission} permission", permission=permission)
        return agent

    return dependency


def current_customer(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer), svc: Services = Depends(services)
) -> int:
    return svc.identity.authenticate(_token(credentials))
