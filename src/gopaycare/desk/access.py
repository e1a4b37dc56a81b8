"""Who may see and change which ticket. Checked on the server for every call.

Supervisors and admins (`ticket.view_all`) see every ticket. Other agents see tickets assigned to
them, unassigned tickets, and tickets of their teams. A ticket an agent may not see answers 404,
exactly like one that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..platform.errors import NotFound, PermissionDenied
from .agents import AgentView
from .models import TeamMember, Ticket


@dataclass(frozen=True)
class Viewer:
    agent: AgentView
    team_ids: tuple[int, ...]

    @property
    def sees_all(self) -> bool:
        return self.agent.can("ticket.view_all")


def viewer(s: Session, agent: AgentView) -> Viewer:
    teams = tuple(s.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == agent.id)))
    return Viewer(agent, teams)


def visible(v: Viewer) -> ColumnElement[bool]:
    """A WHERE clause for the tickets this viewer may see."""
    if v.sees_all:
        return Ticket.id.is_not(None)
    return or_(Ticket.assignee_id == v.agent.id, Ticket.assignee_id.is_(None),
               Ticket.team_id.in_(v.team_ids or (-1,)))


def visible_ids(s: Session, v: Viewer, ticket_ids: set[int]) -> set[int]:
    """Which of these tickets the viewer may open now (by their current assignee and team)."""
    if v.sees_all or not ticket_ids:
        return set(ticket_ids)
    return set(s.scalars(select(Ticket.id).where(Ticket.id.in_(sorted(ticket_ids)), visible(v))))


def access_ticket(s: Session, v: Viewer, ticket_id: int, *, for_update: bool = False) -> Ticket:
    stmt = select(Ticket).where(Ticket.id == ticket_id, visible(v))
    if for_update:
        stmt = stmt.with_for_update()
    ticket = s.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket not found", ticket_id=ticket_id)
    return ticket


def check_permission(v: Viewer, permission: str) -> None:
    if not v.agent.can(permission):
        raise PermissionDenied(f"this needs the {permission} permission", permission=permission)
