"""The supervisor dashboard (ADR 0026): the live board (queues, longest wait, agents' presence and
load, SLA at risk; refetched by htmx on the event stream and every 30 s) and the reports with their
charts and CSV export. Both ask `reports.view`, the permission of the API's report routes, and read
the same services (`Board.now`, `Reports.report`): the daily counters, never a scan of the tickets."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...assistant.flows import intent_label
from ...desk.models import CHANNELS, SERVICE_AREAS
from ...desk.reports import Report, check_range, parse_day, today
from ...platform.pii import mask_text
from . import session
from .auth import Console, console, require
from .render import page, translator

router = APIRouter(prefix="/console", include_in_schema=False)
PERMISSION = "reports.view"
DEFAULT_DAYS = 30
# What the charts name (report figures and per-day counters), each a `series_*` text.
SERIES = ("tickets", "resolved", "resolved.n", "conversations", "contained", "handed_over", "refunds_requested",
          "refunds.requested", "refunds.refunded_amount", "first_response_minutes", "resolution_hours",
          "sla_attainment", "containment", "csat_satisfied")
# Intents the assistant acts on without a flow's label in the "assistant.intent" catalog context (worded
# like those: lower case, as a customer would say it).
CONSOLE_INTENTS = ("greeting", "thanks", "goodbye", "human_handoff")


def _supervisor(request: Request) -> Console:
    who = console(request)
    require(who, PERMISSION)
    return who


def _range(request: Request, who: Console) -> tuple[date, date]:
    last = today(who.svc.clock)
    until = parse_day(request.query_params.get("until"), "until", last)
    since = parse_day(request.query_params.get("since"), "since", until - timedelta(days=DEFAULT_DAYS - 1))
    check_range(since, until)
    return since, until


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    who = _supervisor(request)
    board = who.svc.desk.board.now()
    template = "console/dashboard_live.html" if request.headers.get("hx-request") else "console/dashboard.html"
    return page(request, template, {"who": who.agent, "board": board, "after": who.svc.desk.events.last_id()})


@router.get("/reports")
def reports(request: Request) -> Response:
    who = _supervisor(request)
    since, until = _range(request, who)
    report = who.svc.desk.reports.report(since, until)
    t = translator(session.language(request))
    labels = {"channel": {c: t(f"channel_{c}") for c in CHANNELS}, "area": {a: t(f"area_{a}") for a in SERVICE_AREAS},
              "series": {key: t("series_" + key.replace(".", "_")) for key in SERIES},
              "intent": intent_names(report, session.language(request)), "turns": t("col_turns")}
    return page(request, "console/reports.html", {"who": who.agent, "report": report,
                                                  "data": report.as_dict(), "labels": labels})


def intent_names(report: Report, lang: str) -> dict[str, str]:
    """The words for each intent the report lists, in the page's language."""
    t = translator(lang)
    listed = {name for figures in (report.assistant, *report.assistant_by_channel.values())
              for name, _ in figures.get("intents", ())}
    return {name: t(f"intent_{name}") if name in CONSOLE_INTENTS else intent_label(name, lang)
            for name in sorted(listed)}


def _cell(value: object) -> str:
    """Masked like every agent-facing text, and never a spreadsheet formula."""
    text = "" if value is None else mask_text(str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_of(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "group", "figure", "value"])
    for row in report.rows():
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


@router.get("/reports.csv")
def reports_csv(request: Request) -> Response:
    who = _supervisor(request)
    since, until = _range(request, who)
    body = csv_of(who.svc.desk.reports.report(since, until))
    name = f"gopaycare-report-{since.isoformat()}-{until.isoformat()}.csv"
    return Response(body.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
