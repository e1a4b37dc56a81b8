"""Configuring the help desk: SLA, rules, macros, teams, roles, agents; CSAT answers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...desk.agents import AgentView
from .common import Id, In, Out, SmallInt


class CalendarIn(In):
    name: str = Field(min_length=1, max_length=80)
    timezone: str = Field(default="Asia/Jakarta", max_length=64, description="an IANA zone name")
    hours: dict[str, list[list[str]]]
    holidays: list[str] = []


class PolicyIn(In):
    name: str = Field(min_length=1, max_length=80)
    first_response_minutes: SmallInt
    next_response_minutes: SmallInt
    resolution_minutes: SmallInt
    priority: str | None = None
    customer_tier: str | None = None
    calendar_id: Id | None = None
    warn_before_minutes: SmallInt = 15
    position: SmallInt = 0


class TriggerIn(In):
    name: str = Field(min_length=1, max_length=80)
    event: str
    conditions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]]
    position: SmallInt = 0


class AutomationIn(In):
    name: str = Field(min_length=1, max_length=80)
    status: str
    after_hours: SmallInt
    actions: list[dict[str, Any]]


class MacroIn(In):
    name: str = Field(min_length=1, max_length=80)
    actions: list[dict[str, Any]] = []
    reply: dict[str, str]


class TeamIn(In):
    name: str = Field(min_length=1, max_length=80)
    areas: list[str] = []
    languages: list[str] = []


class MemberIn(In):
    agent_id: Id


class RoleIn(In):
    name: str
    permissions: list[str]


class ProfileIn(In):
    languages: list[str]
    areas: list[str]
    capacity: SmallInt


class CsatIn(In):
    rating: SmallInt
    comment: str | None = Field(default=None, max_length=2000)


class CreatedOut(Out):
    id: int


class RoleOut(Out):
    name: str = Field(description="as stored: trimmed, lower case")


class ProfileOut(Out):
    id: int
    languages: list[str]
    areas: list[str]
    capacity: int

    @classmethod
    def of(cls, agent: AgentView) -> ProfileOut:
        return cls(id=agent.id, languages=list(agent.languages), areas=list(agent.areas), capacity=agent.capacity)


class CsatOut(Out):
    ticket_id: int
    rating: int | None
    comment: str | None
