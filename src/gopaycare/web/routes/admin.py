"""Configuring the help desk: SLA calendars and policies, triggers, automations, macros, teams,
roles, agents' presence; and CSAT answers coming in from a channel."""

from __future__ import annotations

from fastapi import APIRouter

from ...platform.audit import Actor
from ..deps import CanManageAgents, CanManageMacros, CanManageRules, Integration, Svc
from ..schemas.admin import (
    AutomationIn,
    CalendarIn,
    CreatedOut,
    CsatIn,
    CsatOut,
    MacroIn,
    MemberIn,
    PolicyIn,
    ProfileIn,
    ProfileOut,
    RoleIn,
    RoleOut,
    TeamIn,
    TriggerIn,
)
from ..schemas.common import Id
from ..schemas.desk import PresenceIn

router = APIRouter(prefix="/api/v1/admin", tags=["help desk admin"])
csat_router = APIRouter(prefix="/api/v1", tags=["help desk"])


@router.post("/sla/calendars", status_code=201)
def create_calendar(body: CalendarIn, _: CanManageRules, svc: Svc) -> CreatedOut:
    return CreatedOut(id=svc.desk.sla.create_calendar(body.name, timezone=body.timezone, hours=body.hours,
                                                      holidays=body.holidays))


@router.post("/sla/policies", status_code=201)
def create_policy(body: PolicyIn, _: CanManageRules, svc: Svc) -> CreatedOut:
    data = body.model_dump()
    return CreatedOut(id=svc.desk.sla.create_policy(data.pop("name"), **data))


@router.post("/triggers", status_code=201)
def create_trigger(body: TriggerIn, _: CanManageRules, svc: Svc) -> CreatedOut:
    data = body.model_dump()
    return CreatedOut(id=svc.desk.rules.create_trigger(data.pop("name"), **data))


@router.post("/automations", status_code=201)
def create_automation(body: AutomationIn, _: CanManageRules, svc: Svc) -> CreatedOut:
    data = body.model_dump()
    return CreatedOut(id=svc.desk.rules.create_automation(data.pop("name"), **data))


@router.post("/macros", status_code=201)
def create_macro(body: MacroIn, _: CanManageMacros, svc: Svc) -> CreatedOut:
    return CreatedOut(id=svc.desk.rules.create_macro(body.name, actions=body.actions, reply=body.reply))


@router.post("/teams", status_code=201)
def create_team(body: TeamIn, _: CanManageAgents, svc: Svc) -> CreatedOut:
    return CreatedOut(id=svc.agents.create_team(body.name, areas=body.areas, languages=body.languages))


@router.post("/teams/{team_id}/members", status_code=204)
def add_member(team_id: Id, body: MemberIn, _: CanManageAgents, svc: Svc) -> None:
    svc.agents.add_to_team(team_id, body.agent_id)


@router.post("/roles", status_code=201)
def create_role(body: RoleIn, _: CanManageAgents, svc: Svc) -> RoleOut:
    svc.agents.create_role(body.name, body.permissions)
    return RoleOut(name=body.name.strip().lower())


@router.put("/agents/{agent_id}/profile")
def set_profile(agent_id: Id, body: ProfileIn, _: CanManageAgents, svc: Svc) -> ProfileOut:
    return ProfileOut.of(svc.agents.set_profile(agent_id, languages=body.languages, areas=body.areas,
                                                capacity=body.capacity))


@router.put("/agents/{agent_id}/presence", status_code=204)
def set_presence(agent_id: Id, body: PresenceIn, admin: CanManageAgents, svc: Svc) -> None:
    """A supervisor sets someone's presence (e.g. offline when they left without logging out):
    their open tickets are routed to others."""
    svc.agents.get(agent_id)
    svc.desk.routing.set_presence(agent_id, body.presence, actor=Actor.agent(admin.id))


@router.post("/agents/{agent_id}/deactivate", status_code=204)
def deactivate(agent_id: Id, admin: CanManageAgents, svc: Svc) -> None:
    """Hand the agent's open tickets over (presence offline), then switch the account off."""
    svc.desk.routing.set_presence(agent_id, "offline", actor=Actor.agent(admin.id))
    svc.agents.deactivate(agent_id, actor=Actor.agent(admin.id))


@csat_router.post("/tickets/{ticket_id}/csat")
def answer_csat(ticket_id: Id, body: CsatIn, _: Integration, svc: Svc) -> CsatOut:
    """The customer's rating, posted by the channel integration that received it."""
    survey = svc.desk.csat.answer(ticket_id, body.rating, body.comment)
    return CsatOut(ticket_id=ticket_id, rating=survey.rating, comment=survey.comment)
