"""Admin pages (issue 10): for now the agents' list with each one's capacity (open chats routing may
give them), through `AgentDirectory.set_profile`, the service `PUT /api/v1/admin/agents/{id}/profile`
calls, with its permission `agents.manage`. Teams, SLA policies, macros, articles and promotions
are still configured through the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...platform.errors import ValidationFailed
from .auth import console, posted, require
from .forms import int_field
from .render import page

router = APIRouter(prefix="/console/admin", include_in_schema=False)
PERMISSION = "agents.manage"


@router.get("/agents")
def agents(request: Request) -> Response:
    who = console(request)
    require(who, PERMISSION)
    return page(request, "console/admin_agents.html", {"who": who.agent, "agents": who.svc.agents.all()})


@router.post("/agents/{raw_id}/capacity")
async def set_capacity(raw_id: str, request: Request) -> Response:
    who, form = await posted(request)
    require(who, PERMISSION)
    if not raw_id.isdecimal() or len(raw_id) > 15:
        raise ValidationFailed("not an agent id", field="agent_id")
    capacity = int_field(form, "capacity", required=True)
    assert capacity is not None
    agent = who.svc.agents.get(int(raw_id))
    who.svc.agents.set_profile(agent.id, languages=list(agent.languages), areas=list(agent.areas), capacity=capacity)
    return RedirectResponse("/console/admin/agents", status_code=303)
