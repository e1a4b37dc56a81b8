"""The admin pages (docs/adr/0022-pages.md, "Admin pages"): what was configured by API only —
agents and teams (`/console/admin/teams`; an agent's capacity is on `/console/admin/agents`), macros,
knowledge-base articles, SLA calendars and policies, promotions, triggers and automations — as forms
in the console.

One road: each form is read into the API's own request model (web/schemas/) and handed to the
service the API route calls, with the permission that route asks for (web/deps.py), so the checks,
the limits and the audit rows are the API's. A refused form (bad input, a conflict) is the same page
again with the values typed and a sentence saying what was wrong, at the API's 4xx status; nothing
changed. Every POST is CSRF-checked before its form is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from ...desk.models import SERVICE_AREAS
from ...platform.audit import Actor
from ...platform.catalog import text
from ...platform.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ...platform.i18n import LANGUAGES
from ..schemas.admin import AutomationIn, CalendarIn, MacroIn, MemberIn, PolicyIn, RoleIn, TeamIn, TriggerIn
from ..schemas.kb import ArticleIn
from ..schemas.promotions import CampaignIn, CampaignStatusIn
from . import session
from .auth import Console, console, require
from .forms import read_form
from .render import page

router = APIRouter(prefix="/console/admin", include_in_schema=False)
MAX_BIGINT = 2**63 - 1
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # an article to edit (?slug=); anything else opens a new one


@dataclass(frozen=True)
class Section:
    name: str
    permission: str  # the permission the matching API routes ask for


SECTIONS = {s.name: s for s in (
    Section("teams", "agents.manage"),        # routes/admin.py: teams, members, roles, deactivate
    Section("macros", "macro.manage"),        # routes/admin.py: macros
    Section("kb", "macro.manage"),            # routes/kb.py: the same people write both
    Section("sla", "rules.manage"),           # routes/admin.py: calendars, policies
    Section("promotions", "promotion.manage"),  # routes/promotions.py
    Section("rules", "rules.manage"),         # routes/admin.py: triggers, automations
)}


# ---------------------------------------------------------------- reading a form into the API's model


def _model(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """The API's request model, or a ValidationFailed naming the first wrong field."""
    try:
        return schema.model_validate(data)
    except ValidationError as problem:
        first = problem.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "form"
        raise ValidationFailed(f"{field}: {first.get('msg', 'not valid')}", field=field) from None


def _int(form: dict[str, str], name: str, *, default: int | None = None) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return default
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isdecimal() or len(digits) > 19 or abs(int(raw)) > MAX_BIGINT:
        raise ValidationFailed(f"{name} must be a whole number", field=name)
    return int(raw)


def _json(form: dict[str, str], name: str, default: Any) -> Any:
    raw = form.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationFailed(f"{name} is not valid JSON", field=name) from None


def _ticked(form: dict[str, str], prefix: str, choices: tuple[str, ...] | list[str]) -> list[str]:
    return [c for c in choices if form.get(f"{prefix}_{c}") == "1"]


def _texts(form: dict[str, str], name: str) -> dict[str, str]:
    """One text per language (`reply_en`, `title_zh-CN`, …), the empty ones left out."""
    return {lang: form[f"{name}_{lang}"].strip() for lang in LANGUAGES if form.get(f"{name}_{lang}", "").strip()}


def _moment(form: dict[str, str], name: str, zone: Any) -> Any:
    """A datetime-local value, in the service's time zone (as the page says) unless it names its own."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
        return (at if at.tzinfo else at.replace(tzinfo=zone)).isoformat()
    except ValueError:
        raise ValidationFailed(f"{name} must be a date and time", field=name) from None


# ---------------------------------------------------------------- the forms, each one API route


def _create_agent(who: Console, form: dict[str, str]) -> str:
    # No HTTP route creates agents (the CLI does, through this same service); agents.manage gates it.
    email, role = form.get("email", "").strip(), form.get("role", "").strip()
    name, password = form.get("name", "").strip(), form.get("password", "")
    if not email or "@" not in email or len(email) > 254:
        raise ValidationFailed("email: an email address is expected", field="email")
    if not role or len(role) > 32:
        raise ValidationFailed("role: a role is expected", field="role")
    if len(name) > 120:
        raise ValidationFailed("name: at most 120 characters", field="name")
    if password and not 10 <= len(password) <= 200:
        raise ValidationFailed("password: 10 to 200 characters", field="password")
    capacity = _int(form, "capacity", default=5) or 0
    who.svc.agents.create(email, role, name=name or None, password=password or None,
                          languages=_ticked(form, "lang", LANGUAGES), areas=_ticked(form, "area", SERVICE_AREAS),
                          capacity=capacity)
    return "agent_created"


def _create_team(who: Console, form: dict[str, str]) -> str:
    body = _model(TeamIn, {"name": form.get("name", ""), "areas": _ticked(form, "area", SERVICE_AREAS),
                           "languages": _ticked(form, "lang", LANGUAGES)})
    who.svc.agents.create_team(body.name, areas=body.areas, languages=body.languages)
    return "team_created"


def _add_member(who: Console, form: dict[str, str]) -> str:
    team_id = _int(form, "team_id")
    body = _model(MemberIn, {"agent_id": _int(form, "agent_id")})
    if team_id is None or team_id < 1:
        raise ValidationFailed("team_id: a team is expected", field="team_id")
    who.svc.agents.add_to_team(team_id, body.agent_id)
    return "member_added"


def _create_role(who: Console, form: dict[str, str]) -> str:
    from ...desk.agents import PERMISSIONS

    body = _model(RoleIn, {"name": form.get("name", ""), "permissions": _ticked(form, "perm", sorted(PERMISSIONS))})
    who.svc.agents.create_role(body.name, body.permissions)
    return "role_created"


def _deactivate(who: Console, form: dict[str, str]) -> str:
    agent_id = _model(MemberIn, {"agent_id": _int(form, "agent_id")}).agent_id
    if agent_id == who.agent.id:
        raise ValidationFailed("agent_id: you cannot deactivate yourself", field="agent_id")
    who.svc.agents.get(agent_id)  # 404 before anything changes
    actor = Actor.agent(who.agent.id)
    who.svc.desk.routing.set_presence(agent_id, "offline", actor=actor)
    who.svc.agents.deactivate(agent_id, actor=actor)
    return "agent_deactivated"


def _create_macro(who: Console, form: dict[str, str]) -> str:
    body = _model(MacroIn, {"name": form.get("name", ""), "reply": _texts(form, "reply"),
                            "actions": _json(form, "actions", [])})
    who.svc.desk.rules.create_macro(body.name, actions=body.actions, reply=body.reply)
    return "macro_created"


def _save_article(who: Console, form: dict[str, str]) -> str:
    slug = form.get("slug", "").strip()
    if not slug or len(slug) > 80:
        raise ValidationFailed("slug: 1 to 80 characters", field="slug")
    titles, bodies = _texts(form, "title"), _texts(form, "body")
    texts = {lang: {"title": titles.get(lang, ""), "body": bodies.get(lang, "")}
             for lang in LANGUAGES if lang in titles or lang in bodies}
    intents = [i.strip() for i in form.get("intents", "").split(",") if i.strip()]
    body = _model(ArticleIn, {"area": form.get("area") or None, "intents": intents, "texts": texts})
    agent = who.agent
    svc = who.svc
    area = body.area
    try:
        current = svc.kb.get(slug)
    except NotFound:
        current = None
    if area is None:
        if current is None:
            raise ValidationFailed("area: a new article needs its area", field="area")
        area = current.area
    result = svc.kb.create_or_update(slug, area, body.intents or (list(current.intents) if current else []),
                                     {lang: (t.title, t.body) for lang, t in body.texts.items()},
                                     author=f"agent:{agent.id}", actor=Actor.agent(agent.id))
    return "article_created" if result.created else "article_saved"


def _create_calendar(who: Console, form: dict[str, str]) -> str:
    body = _model(CalendarIn, {"name": form.get("name", ""), "timezone": form.get("timezone", "").strip()
                               or "Asia/Jakarta", "hours": _json(form, "hours", {}),
                               "holidays": [d.strip() for d in form.get("holidays", "").split(",") if d.strip()]})
    who.svc.desk.sla.create_calendar(body.name, timezone=body.timezone, hours=body.hours, holidays=body.holidays)
    return "calendar_created"


def _create_policy(who: Console, form: dict[str, str]) -> str:
    data = {"name": form.get("name", ""), "priority": form.get("priority") or None,
            "customer_tier": form.get("customer_tier") or None, "calendar_id": _int(form, "calendar_id")}
    for name, default in (("first_response_minutes", None), ("next_response_minutes", None),
                          ("resolution_minutes", None), ("warn_before_minutes", 15), ("position", 0)):
        data[name] = _int(form, name, default=default)
    body = _model(PolicyIn, data).model_dump()
    who.svc.desk.sla.create_policy(body.pop("name"), **body)
    return "policy_created"


def _create_campaign(who: Console, form: dict[str, str]) -> str:
    data = {"code": form.get("code", "").strip(), "titles": _texts(form, "title"),
            "starts_at": _moment(form, "starts_at", who.svc.settings.tz),
            "ends_at": _moment(form, "ends_at", who.svc.settings.tz),
            "rules": _json(form, "rules", {}), "credit_delay_hours": _int(form, "credit_delay_hours", default=0)}
    for name in ("percent", "flat_amount", "max_cashback", "budget"):
        data[name] = _int(form, name)
    body = _model(CampaignIn, data).model_dump()
    who.svc.promotions.create(body.pop("code"), body.pop("titles"), body.pop("starts_at"), body.pop("ends_at"),
                              actor=Actor.agent(who.agent.id), **body)
    return "campaign_created"


def _campaign_status(who: Console, form: dict[str, str]) -> str:
    code = form.get("code", "").strip()
    if not code or len(code) > 24:
        raise ValidationFailed("code: a campaign is expected", field="code")
    body = _model(CampaignStatusIn, {"status": form.get("status", "")})
    who.svc.promotions.set_status(code, body.status, actor=Actor.agent(who.agent.id))
    return "campaign_status_set"


def _create_trigger(who: Console, form: dict[str, str]) -> str:
    body = _model(TriggerIn, {"name": form.get("name", ""), "event": form.get("event", ""),
                              "conditions": _json(form, "conditions", []), "actions": _json(form, "actions", []),
                              "position": _int(form, "position", default=0)}).model_dump()
    who.svc.desk.rules.create_trigger(body.pop("name"), **body)
    return "trigger_created"


def _create_automation(who: Console, form: dict[str, str]) -> str:
    body = _model(AutomationIn, {"name": form.get("name", ""), "status": form.get("status", ""),
                                 "after_hours": _int(form, "after_hours"),
                                 "actions": _json(form, "actions", [])}).model_dump()
    who.svc.desk.rules.create_automation(body.pop("name"), **body)
    return "automation_created"


FORMS: dict[tuple[str, str], Callable[[Console, dict[str, str]], str]] = {
    ("teams", "agent"): _create_agent, ("teams", "team"): _create_team, ("teams", "member"): _add_member,
    ("teams", "role"): _create_role, ("teams", "deactivate"): _deactivate,
    ("macros", "macro"): _create_macro, ("kb", "article"): _save_article,
    ("sla", "calendar"): _create_calendar, ("sla", "policy"): _create_policy,
    ("promotions", "campaign"): _create_campaign, ("promotions", "status"): _campaign_status,
    ("rules", "trigger"): _create_trigger, ("rules", "automation"): _create_automation,
}


# ---------------------------------------------------------------- what each page lists


def _listing(who: Console, name: str, lang: str, values: dict[str, str]) -> dict[str, Any]:
    svc = who.svc
    if name == "teams":
        from ...desk.agents import PERMISSIONS, ROLES

        return {"agents": svc.agents.roster(), "teams": svc.agents.teams(), "roles": list(ROLES),  # agent first
                "permissions": sorted(PERMISSIONS)}
    if name == "macros":
        return {"macros": svc.desk.rules.macros()}
    if name == "kb":
        editing = None
        slug = values.get("slug") or ""
        if slug and not values.get("_posted"):
            try:
                found = {lang_: svc.kb.get(slug, lang_) for lang_ in LANGUAGES}
                editing = {lang_: a for lang_, a in found.items() if a.language == lang_}
                values = values | {"area": next(iter(found.values())).area,
                                   "intents": ", ".join(next(iter(found.values())).intents)}
                values |= {f"{k}_{lang_}": getattr(a, k) for lang_, a in editing.items() for k in ("title", "body")}
            except NotFound:
                editing = None
        return {"articles": svc.kb.catalog(lang), "editing": editing, "values": values}
    if name == "promotions":
        zone = svc.settings.tz  # times shown and typed in the service's zone (the page says which)
        return {"zone": str(zone), "campaigns": [
            {"code": c.code, "title": c.title(lang), "status": c.status, "starts_at": c.starts_at.astimezone(zone),
             "ends_at": c.ends_at.astimezone(zone)} for c in svc.promotions.list()]}
    if name == "rules":
        from ...desk.rule_checks import AUTOMATION_STATUSES, EVENTS

        return {"events": list(EVENTS), "statuses": list(AUTOMATION_STATUSES), "triggers": svc.desk.rules.triggers(),
                "automations": svc.desk.rules.automations()}
    if name == "sla":
        from ...desk.models import PRIORITIES
        from ...wallet.rules import TIERS

        return {**svc.desk.sla.listing(), "priorities": list(PRIORITIES), "tiers": list(TIERS)}
    return {}


def _section(name: str) -> Section:
    section = SECTIONS.get(name)
    if section is None:
        raise NotFound("no such admin page")
    return section


def _show(request: Request, who: Console, section: Section, *, values: dict[str, str] | None = None,
          error: str | None = None, status: int = 200, code: str | None = None) -> Response:
    lang = session.language(request)
    values = values or {}
    sections = [s.name for s in SECTIONS.values() if who.agent.can(s.permission)]
    response = page(request, f"console/configure_{section.name}.html", {
        "who": who.agent, "section": section.name, "sections": sections, "values": values, "error": error,
        "done": request.query_params.get("done") if status == 200 else None, "areas": SERVICE_AREAS,
        "form_languages": LANGUAGES, **_listing(who, section.name, lang, values)}, status=status)
    if code:
        response.headers["X-Error-Code"] = code
    return response


@router.get("")
def configure_home(request: Request) -> Response:
    who = console(request)
    for section in SECTIONS.values():
        if who.agent.can(section.permission):
            return RedirectResponse(f"/console/admin/{section.name}", status_code=303)
    raise PermissionDenied("the admin pages need a manage permission", permission="agents.manage")


def configure_page(request: Request) -> Response:
    name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    who = console(request)
    section = _section(name)
    require(who, section.permission)
    slug = request.query_params.get("slug", "")
    values = {"slug": slug} if name == "kb" and SLUG.fullmatch(slug) else {}
    return _show(request, who, section, values=values)


# One route per section (no `/{name}` catch-all): other admin pages under /console/admin stay reachable.
for _name in SECTIONS:
    router.add_api_route(f"/{_name}", configure_page, methods=["GET"])


@router.get("/teams/agents/{raw_id}/deactivate")
def confirm_deactivate(raw_id: str, request: Request) -> Response:
    """The confirmation: who will be switched off and what happens to their tickets."""
    who = console(request)
    require(who, "agents.manage")
    if not raw_id.isdecimal() or len(raw_id) > 19 or int(raw_id) > MAX_BIGINT:
        raise NotFound("agent not found")
    target = who.svc.agents.get(int(raw_id))
    return page(request, "console/configure_confirm.html", {"who": who.agent, "target": target, "section": "teams"})


@router.post("/{name}/{form_name}")
async def configure_post(name: str, form_name: str, request: Request) -> Response:
    who = console(request)
    section = _section(name)
    require(who, section.permission)  # 403 before the form is read: nothing is done
    handler = FORMS.get((name, form_name))
    if handler is None:
        raise NotFound("no such form")
    lang = session.language(request)
    try:
        form = await read_form(request)
    except DomainError as refused:  # too large, NUL, over-long field: the page again, nothing done
        return _show(request, who, section, error=_sentence(refused, lang), status=refused.http_status,
                     code=refused.code)
    session.check_csrf(request, who.svc.settings.secret_key, form.get(session.CSRF_FIELD))
    shown = {k: v for k, v in form.items() if k not in (session.CSRF_FIELD, "password")}
    shown["_form"], shown["_posted"] = form_name, "1"
    try:
        done = handler(who, form)
    except PermissionDenied:
        raise
    except DomainError as refused:
        return _show(request, who, section, values=shown, error=_sentence(refused, lang),
                     status=refused.http_status, code=refused.code)
    except OverflowError:  # a number beyond the database's integers somewhere in a JSON field
        out_of_range = ValidationFailed("a number is out of range")
        return _show(request, who, section, values=shown, error=_sentence(out_of_range, lang),
                     status=out_of_range.http_status, code=out_of_range.code)
    return RedirectResponse(f"/console/admin/{name}?done={done}", status_code=303)


def _sentence(refused: DomainError, lang: str) -> str:
    """What was wrong, in the agent's language, with the service's own words after it."""
    return text("console", "cfg_refused", lang, detail=refused.message)
