"""The landing page of a running instance: where the console, the API docs and the health checks are."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from .render import page


def landing_page(request: Request) -> HTMLResponse:
    db = request.app.state.services.db.dialect
    return page(request, "console/landing.html", {"database": db, "session": ""})
