"""The help center (docs/adr/0025-customer-pages.md): knowledge-base articles by the five service areas,
search, "was this helpful", the brief's four procedures as step-by-step guides, the contact page; and
what the chat widget needs from the server (its words, a page to try it on).

No login: the same public services `GET /api/v1/kb/...` and `GET /api/v1/promotions` call. A vote is a
form (CSRF-checked) counted by the API's vote limits, one vote per browser and article language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...kb.content import check_slug
from ...platform.catalog import lookup, messages
from ...platform.errors import NotFound, ValidationFailed
from ...platform.i18n import LANGUAGES, normalize_language
from ...platform.ratelimit import Check
from . import session
from .account import customer_page, customer_token, maybe_me, promotions_of
from .forms import read_form

router = APIRouter(include_in_schema=False)
AREAS = ("account", "transaction", "refund_dispute", "tech_support", "promotion")
# The brief's four procedures and how many steps each guide has (texts: customer/guide_<name>_<n>).
GUIDES = {"login": 5, "payment": 4, "refund": 6, "app": 4}


@router.get("/help")
def help_home(request: Request) -> Response:
    lang = session.language(request)
    svc = request.app.state.services
    by_area: dict[str, list[Any]] = {area: [] for area in AREAS}
    for article in svc.kb.catalog(lang):
        by_area.setdefault(article.area, []).append(article)
    return customer_page(request, "customer/help.html", {"by_area": by_area, "areas": AREAS, "guides": GUIDES,
                                                          "campaigns": promotions_of(svc, lang)})


@router.get("/help/search")
def help_search(request: Request, q: str = Query("", max_length=200)) -> Response:
    lang = session.language(request)
    if "\x00" in q:
        q = ""
    hits = request.app.state.services.kb.search(q, lang=lang, limit=10) if q.strip() else []
    return customer_page(request, "customer/search.html", {"q": q, "hits": hits})


@router.get("/help/articles/{slug}")
def help_article(request: Request, slug: str) -> Response:
    try:
        slug = check_slug(slug)
    except ValidationFailed:  # a malformed slug is no article
        raise NotFound("no such article") from None
    article = request.app.state.services.kb.get(slug, session.language(request))
    paragraphs = [p.strip() for p in article.body.split("\n\n") if p.strip()]
    return customer_page(request, "customer/article.html", {
        "article": article, "paragraphs": paragraphs, "voted": request.query_params.get("voted") in ("yes", "no")})


@router.post("/help/articles/{slug}/vote")
async def help_vote(request: Request, slug: str) -> Response:
    svc = request.app.state.services
    form = await read_form(request)
    session.check_csrf(request, svc.settings.secret_key, form.get(session.CSRF_FIELD),
                       session=customer_token(request) if maybe_me(request) else "")
    try:
        slug = check_slug(slug)
    except ValidationFailed:
        raise NotFound("no such article") from None
    helpful = form.get("helpful", "")
    if helpful not in ("yes", "no"):
        raise ValidationFailed("helpful is yes or no", field="helpful")
    lang = normalize_language(form.get("lang", "")[:10] or session.language(request))
    ip = request.client.host if request.client else "unknown"
    await run_in_threadpool(svc.limiter.check, [Check("kb_votes_per_ip", ip), Check("kb_votes_per_article_ip",
                                                                                    f"{ip} {slug}")])
    who = maybe_me(request)
    voter = f"customer:{who.customer_id}" if who else f"web:{session.csrf_nonce(request)[:40]}"
    await run_in_threadpool(svc.kb.vote, slug, lang, voter, helpful == "yes")
    return RedirectResponse(f"/help/articles/{slug}?voted={helpful}", status_code=303)


@router.get("/help/guides/{name}")
def help_guide(request: Request, name: str) -> Response:
    if name not in GUIDES:
        raise NotFound("no such guide")
    return customer_page(request, "customer/guide.html", {"name": name, "steps": GUIDES[name], "guides": GUIDES})


@router.get("/help/contact")
def help_contact(request: Request) -> Response:
    return customer_page(request, "customer/contact.html", {})


# ---------------------------------------------------------------- the chat widget's server side


@router.get("/widget/texts.json")
def widget_texts(lang: str = Query("", max_length=10)) -> Response:
    """The widget's words in one language (the `customer` catalog context, keys `widget_…`)."""
    lang = normalize_language(lang) if lang else "zh-CN"
    keys = sorted(k for (context, k) in messages("zh-CN") if context == "customer" and k.startswith("widget_"))
    body = {"lang": lang, "languages": list(LANGUAGES),
            "texts": {k[len("widget_"):]: lookup("customer", k, lang) for k in keys}}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


@router.get("/widget/demo")
def widget_demo(request: Request) -> Response:
    """A host page with nothing but the widget's one script tag, to try it."""
    return customer_page(request, "customer/widget_demo.html", {})
