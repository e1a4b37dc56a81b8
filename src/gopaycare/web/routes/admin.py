"""Configuring the help desk: SLA calendars and policies, triggers, automations, macros, teams,
roles, agents' presence; and CSAT answers coming in from a channel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ...container import Services
from ...desk.agents import AgentView
from ...platform.audit import Actor
from ..deps import agent_with, services

router = APIRouter(prefix="/api/v1/admin", tags=["help desk admin"])
csat_router = APIRouter(prefix="/api/v1", tags=["help desk"])


class CalendarIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    timezone: str = "Asia/Jakarta"
    hours: dict[str, list[list[str]]]
    holidays: list[str] = []


class PolicyIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int
    priority: str | None = None
    customer_tier: str | None = None
    calendar_id: int | None = None
    warn_before_minutes: int = 15
    position: int = 0


class TriggerIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    event: str
    conditions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]]
    position: int = 0


class AutomationIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    status: str
    after_hours: int
    actions: list[dict[str, Any]]


class MacroIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    actions: list[dict[str, Any]] = []
    reply: dict[str, str]


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    areas: list[str] = []
    languages: list[str] = []


class MemberIn(BaseModel):
    agent_id: int


class RoleIn(BaseModel):
    name: str
    permissions: list[str]


class ProfileIn(BaseModel):
    languages: list[str]
    areas: list[str]
    capacity: int


class PresenceIn(BaseModel):
    presence: str = Field(pattern="^(online|away|offline)$")


class CsatIn(BaseModel):
    rating: int
    comment: str | None = Field(default=None, max_length=2000)


@router.post("/sla/calendars", status_code=201)
def create_calendar(body: CalendarIn, _: AgentView = Depends(agent_with("rules.manage")),
                    svc: Services = Depends(services)) -> dict[str, int]:
    return {"id": svc.desk.sla.create_calendar(body.name, timezone=body.timezone, hours=body.hours,
                                               holidays=body.holidays)}


@router.post("/sla/policies", status_code=201)
def create_policy(body: PolicyIn, _: AgentView = Depends(agent_with("rules.manage")),
                  svc: Services = Depends(services)) -> dict[str, int]:
    data = body.model_dump()
    return {"id": svc.desk.sla.create_policy(data.pop("name"), **data)}


@router.post("/triggers", status_code=201)
def create_trigger(body: TriggerIn, _: AgentView = Depends(agent_with("rules.manage")),
                   svc: Services = Depends(services)) -> dict[str, int]:
    data = body.model_dump()
    return {"id": svc.desk.rules.create_trigger(data.pop("name"), **data)}


@router.post("/automations", status_code=201)
def create_automation(body: AutomationIn, _: AgentView = Depends(agent_with("rules.manage")),
                      svc: Services = Depends(services)) -> dict[str, int]:
    data = body.model_dump()
    return {"id": svc.desk.rules.create_automation(data.pop("name"), **data)}


@router.post("/macros", status_code=201)
def create_macro(body: MacroIn, _: AgentView = Depends(agent_with("macro.manage")),
                 svc: Services = Depends(services)) -> dict[str, int]:
    return {"id": svc.desk.rules.create_macro(body.name, actions=body.actions, reply=body.reply)}


@router.post("/teams", status_code=201)
def create_team(body: TeamIn, _: AgentView = Depends(agent_with("agents.manage")),
                svc: Services = Depends(services)) -> dict[str, int]:
    return {"id": svc.agents.create_team(body.name, areas=body.areas, languages=body.languages)}


@router.post("/teams/{team_id}/members", status_code=204)
def add_member(team_id: int, body: MemberIn, _: AgentView = Depends(agent_with("agents.manage")),
               svc: Services = Depends(services)) -> None:
    svc.agents.add_to_team(team_id, body.agent_id)


@router.post("/roles", status_code=201)
def create_role(body: RoleIn, _: AgentView = Depends(agent_with("agents.manage")),
                svc: Services = Depends(services)) -> dict[str, str]:
    svc.agents.create_role(body.name, body.permissions)
    return {"name": body.name.strip().lower()}


@router.put("/agents/{agent_id}/profile")
def set_profile(agent_id: int, body: ProfileIn, _: AgentView = Depends(agent_with("agents.manage")),
                svc: Services = Depends(services)) -> dict[str, Any]:
    agent = svc.agents.set_profile(agent_id, languages=body.languages, areas=body.areas, capacity=body.capacity)
    return {"id": agent.id, "languages": list(agent.languages), "areas": list(agent.areas),
            "capacity": agent.capacity}


@router.put("/agents/{agent_id}/presence", status_code=204)
def set_presence(agent_id: int, body: PresenceIn, admin: AgentView = Depends(agent_with("agents.manage")),
                 svc: Services = Depends(services)) -> None:
    """A supervisor sets someone's presence (e.g. offline when they left without logging out):
    their open tickets are routed to others."""
    svc.agents.get(agent_id)
    svc.desk.routing.set_presence(agent_id, body.presence, actor=Actor.agent(admin.id))


@router.post("/agents/{agent_id}/deactivate", status_code=204)
def deactivate(agent_id: int, admin: AgentView = Depends(agent_with("agents.manage")),
               svc: Services = Depends(services)) -> None:
    """Hand the agent's open tickets over (presence offline), then switch the account off."""
    svc.desk.routing.set_presence(agent_id, "offline", actor=Actor.agent(admin.id))
    svc.agents.deactivate(agent_id, actor=Actor.agent(admin.id))


@csat_router.post("/tickets/{ticket_id}/csat")
def answer_csat(ticket_id: int, body: CsatIn, _: AgentView = Depends(agent_with("channel.ingest")),
                svc: Services = Depends(services)) -> dict[str, Any]:
    """The customer's rating, posted by the channel integration that received it."""
    survey = svc.desk.csat.answer(ticket_id, body.rating, body.comment)
    return {"ticket_id": ticket_id, "rating": survey.rating, "comment": survey.comment}
