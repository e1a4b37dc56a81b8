"""Rendering a page: Jinja2 with autoescaping on for every template, texts from the catalogs.

Every `{{ value }}` is HTML-escaped (customer text included, so `<img src=x onerror=…>` shows as
text); templates never use `|safe`. Texts come from the `console` context of the message catalogs
in the page's language, so zh-CN, en and id stay complete together (tests/test_catalog.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ...platform.catalog import text
from ...platform.i18n import LANGUAGES, format_rupiah
from ...platform.pii import mask_text
from . import session

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English", "id": "Bahasa Indonesia"}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                  default_for_string=True), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
env.filters["rupiah"] = lambda amount: format_rupiah(int(amount or 0))
env.filters["masked"] = lambda value: mask_text(value or "")
env.filters["iso"] = lambda at: at.isoformat() if isinstance(at, datetime) else (at or "")
env.filters["when"] = lambda at: (at if isinstance(at, datetime) else datetime.fromisoformat(at))\
    .strftime("%Y-%m-%d %H:%M") if at else ""


def _local(at: datetime | str | None, tz: Any) -> str:
    """The moment in the operator's time zone (what the customer's phone and the assistant say)."""
    if not at:
        return ""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return (moment.astimezone(tz) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M")


env.filters["local"] = _local


def translator(lang: str, texts: str = "console") -> Any:
    def t(key: str, **values: object) -> str:
        return text(texts, key, lang, **values)

    return t


def page(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
         texts: str = "console") -> HTMLResponse:
    """`texts`: the catalogs' context of the page's words (`console` for agents, `customer` for the
    customer pages)."""
    lang = session.language(request)
    secret = request.app.state.services.settings.secret_key
    who = context.get("who")
    if who is not None and hasattr(who, "capacity") and "load" not in context:
        context["load"] = request.app.state.services.desk.routing.agent_load(who.id)  # the header's load / capacity
    values = {"t": translator(lang, texts), "lang": lang, "languages": LANGUAGES, "language_names": LANGUAGE_NAMES,
              "csrf": session.csrf_token(request, secret, context.pop("session", None)),
              "path": request.url.path, "query": request.url.query, **context}
    response = HTMLResponse(env.get_template(template).render(values), status_code=status)
    session.remember_nonce(request, response)
    if request.query_params.get("lang") in LANGUAGES:
        session.set_cookie(response, request, session.LANG_COOKIE, lang, max_age=365 * 86400)
    response.headers["Content-Language"] = lang
    response.headers.setdefault("Cache-Control", "no-store")
    return response
