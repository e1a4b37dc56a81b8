"""Request dependencies: the services, the authenticated agent or customer, the desk viewer.

Routes declare them through the `Annotated` aliases below (`svc: Svc`, `agent: CanFreeze`), one
alias per permission, so the permission a route needs reads from its signature.
"""

# No `from __future__ import annotations`: the factories' parameters are annotated with their own
# local dependencies, which FastAPI could not resolve from strings.
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..container import Services
from ..desk.access import Viewer
from ..desk.agents import AgentView
from ..desk.customer_side import Party
from ..identity.visitors import PREFIX as VISITOR_PREFIX
from ..platform.errors import PermissionDenied, Unauthenticated

bearer = HTTPBearer(auto_error=False)


def services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required", code="token_missing")
    return credentials.credentials


def bearer_token(credentials: Credentials) -> str:
    return _token(credentials)


# The raw bearer token of the request (logout revokes it; a socket ticket stands for it).
BearerToken = Annotated[str, Depends(bearer_token)]


def no_store(response: Response) -> None:
    """A response that carries a credential (a token, a ticket, a TOTP secret, recovery codes) must
    not be kept by a browser or a proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


# Add to a route that answers with a credential: `@router.post(..., dependencies=NO_STORE)`.
NO_STORE = [Depends(no_store)]


def current_agent(credentials: Credentials, svc: Svc) -> AgentView:
    """Any agent with a live token, whatever their role (their own session, two-step, logout)."""
    return svc.agents.authenticate(_token(credentials))


CurrentAgent = Annotated[AgentView, Depends(current_agent)]


def agent_with(permission: str) -> Callable[..., AgentView]:
    """An agent who holds `permission`; checked on the server for every call."""

    def dependency(credentials: Credentials, svc: Svc) -> AgentView:
        agent = svc.agents.authenticate(_token(credentials))
        if not agent.can(permission):
            raise PermissionDenied(f"this needs the {permission} permission", permission=permission)
        return agent

    return dependency


def viewer_with(permission: str) -> Callable[..., Viewer]:
    """The desk as an agent holding `permission` sees it (their teams: which tickets they may see)."""
    agent_dependency = agent_with(permission)

    def dependency(agent: Annotated[AgentView, Depends(agent_dependency)], svc: Svc) -> Viewer:
        return svc.desk.viewer(agent)

    return dependency


def current_customer(credentials: Credentials, svc: Svc) -> int:
    return svc.identity.authenticate(_token(credentials))


CustomerId = Annotated[int, Depends(current_customer)]


def party_of(svc: Services, token: str) -> Party:
    """Who holds this token on the chat: an anonymous web visitor (a signed visitor token, which a
    session token never looks like: it has no "."), or else a logged-in customer, as everywhere."""
    if (token or "").startswith(VISITOR_PREFIX + "."):
        return Party.visitor(svc.visitors.verify(token))
    return Party.customer(svc.identity.authenticate(token))


def chat_party(credentials: Credentials, svc: Svc) -> Party:
    return party_of(svc, _token(credentials))


# The chat's reader: a customer's session token or a web visitor's token (only the chat takes one).
ChatParty = Annotated[Party, Depends(chat_party)]

# An agent holding the permission named (every role holds customer.view).
CanViewCustomers = Annotated[AgentView, Depends(agent_with("customer.view"))]
CanRevealPii = Annotated[AgentView, Depends(agent_with("pii.reveal"))]
CanFreeze = Annotated[AgentView, Depends(agent_with("account.freeze"))]
CanReverse = Annotated[AgentView, Depends(agent_with("wallet.reverse"))]
CanManageRules = Annotated[AgentView, Depends(agent_with("rules.manage"))]
CanManageMacros = Annotated[AgentView, Depends(agent_with("macro.manage"))]
CanManageAgents = Annotated[AgentView, Depends(agent_with("agents.manage"))]
CanManagePromotions = Annotated[AgentView, Depends(agent_with("promotion.manage"))]
CanGrantPromotions = Annotated[AgentView, Depends(agent_with("promotion.grant"))]
CanViewReports = Annotated[AgentView, Depends(agent_with("reports.view"))]
CanManageChannels = Annotated[AgentView, Depends(agent_with("channels.manage"))]
# A channel integration (WhatsApp, email, the chat widget) posting what customers sent.
Integration = Annotated[AgentView, Depends(agent_with("channel.ingest"))]

# The desk seen by an agent: tickets outside their reach answer 404.
DeskViewer = Annotated[Viewer, Depends(viewer_with("customer.view"))]
RevealingViewer = Annotated[Viewer, Depends(viewer_with("pii.reveal"))]
