"""Credentials over the API: a customer's refresh and logout; an agent's logout and two-step login
(TOTP enrolment, confirmation with recovery codes, disabling it); an admin's unlock, two-step reset
and token revocation. Every answer that carries a credential is `Cache-Control: no-store`.
"""

from __future__ import annotations

from fastapi import APIRouter

from ...platform.audit import Actor
from ..deps import NO_STORE, BearerToken, CanManageAgents, CurrentAgent, CustomerId, Svc
from ..schemas.common import Id
from ..schemas.customer import LoginOut
from ..schemas.sessions import (
    ConfirmIn,
    DisableIn,
    EnrolmentOut,
    RecoveryCodesOut,
    RefreshIn,
    RevokedOut,
    TwoStepStatusOut,
)

router = APIRouter(prefix="/api/v1", tags=["credentials"])


# ---------------------------------------------------------------- customers


@router.post("/auth/refresh", dependencies=NO_STORE)
def refresh(body: RefreshIn, svc: Svc) -> LoginOut:
    """A new access token and a new refresh token for a refresh token, which is spent. A refresh
    token presented again ends every session it led to (it was copied): log in again."""
    return LoginOut.of(svc.identity.refresh(body.refresh_token))


@router.post("/auth/logout", status_code=204)
def logout(_: CustomerId, token: BearerToken, svc: Svc) -> None:
    """End this session and its refresh token's family."""
    svc.identity.logout(token)


# ---------------------------------------------------------------- an agent's own


@router.post("/agent/logout", status_code=204)
def agent_logout(_: CurrentAgent, token: BearerToken, svc: Svc) -> None:
    """Revoke the token this request carries (a login session or an API token); sockets opened
    with it close at once."""
    svc.agents.revoke(token)


@router.get("/agent/me/two-step")
def two_step_status(agent: CurrentAgent, svc: Svc) -> TwoStepStatusOut:
    return TwoStepStatusOut.of(svc.agents.two_step.status(agent.id))


@router.post("/agent/me/two-step", status_code=201, dependencies=NO_STORE)
def two_step_enrol(agent: CurrentAgent, svc: Svc) -> EnrolmentOut:
    """A new TOTP secret for the authenticator app; login asks for codes once it is confirmed."""
    return EnrolmentOut.of(svc.agents.two_step.enroll(agent.id))


@router.post("/agent/me/two-step/confirm", dependencies=NO_STORE)
def two_step_confirm(body: ConfirmIn, agent: CurrentAgent, svc: Svc) -> RecoveryCodesOut:
    return RecoveryCodesOut(recovery_codes=svc.agents.two_step.confirm(agent.id, body.code))


@router.post("/agent/me/two-step/disable", status_code=204)
def two_step_disable(body: DisableIn, agent: CurrentAgent, svc: Svc) -> None:
    svc.agents.disable_two_step(agent.id, body.totp_code, body.recovery_code)


# ---------------------------------------------------------------- an admin's


@router.post("/admin/agents/{agent_id}/unlock", status_code=204)
def unlock_agent(agent_id: Id, admin: CanManageAgents, svc: Svc) -> None:
    svc.agents.unlock(agent_id, actor=Actor.agent(admin.id))


@router.post("/admin/agents/{agent_id}/two-step/reset", status_code=204)
def reset_two_step(agent_id: Id, admin: CanManageAgents, svc: Svc) -> None:
    svc.agents.two_step.reset(agent_id, actor=Actor.agent(admin.id))


@router.post("/admin/agents/{agent_id}/tokens/revoke")
def revoke_agent_tokens(agent_id: Id, admin: CanManageAgents, svc: Svc) -> RevokedOut:
    """Every token and session of the agent stops working, and their open sockets close."""
    return RevokedOut(revoked=svc.agents.revoke_all(agent_id, actor=Actor.agent(admin.id)))
