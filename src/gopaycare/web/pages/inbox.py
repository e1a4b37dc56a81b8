"""The inbox: the agent's views of the desk (mine, unassigned, my team, SLA at risk, by channel, by
service area), search, all through the same `Inbox.tickets` and `TicketSearchIndex.search` the JSON
API calls, with the same viewer (the tickets this agent may open, nothing more)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...desk.inbox import TicketFilter
from ...desk.models import CHANNELS, SERVICE_AREAS
from ...platform.errors import ValidationFailed
from .auth import Console, console
from .render import page

router = APIRouter(prefix="/console", include_in_schema=False)
OPEN = ("new", "open", "pending_customer")
VIEWS = ("mine", "unassigned", "team", "sla", "all", "channel", "area")
PAGE_SIZE = 50


@dataclass(frozen=True)
class View:
    name: str
    value: str | None = None  # the channel, area or team of the views that take one

    def ticket_filter(self, who: Console) -> TicketFilter:
        if self.name == "mine":
            return TicketFilter(status=OPEN, assignee="me")
        if self.name == "unassigned":
            return TicketFilter(status=OPEN, assignee="none", order="created")
        if self.name == "team":
            team = int(self.value) if self.value else (who.viewer.team_ids[0] if who.viewer.team_ids else None)
            if team is None:
                raise ValidationFailed("you are in no team", field="team")
            if team not in who.viewer.team_ids and not who.viewer.sees_all:
                raise ValidationFailed("not one of your teams", field="team")
            return TicketFilter(status=OPEN, team_id=team)
        if self.name == "sla":
            return TicketFilter(status=OPEN, sla="breaching_soon")
        if self.name == "all":  # every open ticket this agent may see (a supervisor: all of them)
            return TicketFilter(status=OPEN)
        if self.name == "channel":
            return TicketFilter(status=OPEN, channel=self.value)
        return TicketFilter(status=OPEN, area=self.value)


def view_of(request: Request) -> View:
    name = request.query_params.get("view", "mine")
    if name not in VIEWS:
        raise ValidationFailed(f"view is one of {', '.join(VIEWS)}", field="view")
    value = request.query_params.get(name) if name in ("channel", "area", "team") else None
    if name == "channel" and value not in CHANNELS:
        raise ValidationFailed("unknown channel", field="channel")
    if name == "area" and value not in SERVICE_AREAS:
        raise ValidationFailed("unknown area", field="area")
    if name == "team" and value is not None and not (value.isdecimal() and len(value) <= 15):
        raise ValidationFailed("team is a team id", field="team")
    return View(name, value)


@router.get("")
def home() -> Response:
    return RedirectResponse("/console/inbox", status_code=303)


@router.get("/inbox")
def inbox(request: Request) -> Response:
    who = console(request)
    view = view_of(request)
    cursor = request.query_params.get("cursor")
    if cursor is not None and len(cursor) > 200:
        raise ValidationFailed("the cursor is not valid", field="cursor")
    tickets = who.svc.desk.inbox.tickets(who.viewer, view.ticket_filter(who), limit=PAGE_SIZE, cursor=cursor)
    template = "console/inbox_rows.html" if request.headers.get("hx-request") else "console/inbox.html"
    return page(request, template, {"who": who.agent, "view": view, "tickets": tickets.items,
                                    "next_cursor": tickets.next_cursor, "channels": CHANNELS,
                                    "areas": SERVICE_AREAS, "teams": who.viewer.team_ids,
                                    # the live stream starts here: only what happens after this page
                                    "after": who.svc.desk.events.last_id()})


@router.get("/search")
def search(request: Request) -> Response:
    who = console(request)
    q = request.query_params.get("q", "").strip()
    if len(q) > 200 or "\x00" in q:
        raise ValidationFailed("the search is at most 200 characters", field="q")
    tickets = who.svc.desk.tickets.get_many(who.viewer, who.svc.desk.search.search(who.viewer, q, limit=50)) \
        if q else []
    template = "console/inbox_rows.html" if request.headers.get("hx-request") else "console/search.html"
    return page(request, template, {"who": who.agent, "q": q, "tickets": tickets, "next_cursor": None,
                                    "view": View("search"), "channels": CHANNELS, "areas": SERVICE_AREAS,
                                    "teams": who.viewer.team_ids, "after": who.svc.desk.events.last_id()})
