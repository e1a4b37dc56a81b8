"""The knowledge base over HTTP: public reading, search and votes (the help center, no login), and
editing for agents who hold `macro.manage` (each edit adds a version)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...container import Services
from ...desk.agents import AgentView
from ...kb.service import ArticleView, SaveResult
from ...platform.audit import Actor
from ...platform.errors import NotFound, ValidationFailed
from ..deps import agent_with, services

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])

EDIT_PERMISSION = "macro.manage"


class VoteIn(BaseModel):
    lang: str = Field(min_length=2, max_length=10)
    helpful: bool
    voter: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:@-]+$")


class TextIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class ArticleIn(BaseModel):
    """An edit: the texts to change (others stay as they are); area and intents only to change them
    (a new article needs its area)."""

    texts: dict[str, TextIn] = Field(min_length=1, max_length=3)
    area: str | None = None
    intents: list[str] | None = Field(default=None, max_length=20)


def article_out(view: ArticleView) -> dict[str, Any]:
    return {"slug": view.slug, "area": view.area, "intents": list(view.intents), "lang": view.language,
            "requested_lang": view.requested_language, "fallback": view.fallback, "title": view.title,
            "body": view.body, "format": "markdown", "version": view.version,
            "updated_at": view.updated_at.isoformat(), "languages": list(view.languages),
            "votes": {"helpful": view.helpful, "not_helpful": view.not_helpful}}


@router.get("/search")
def search(q: str = Query("", max_length=500), lang: str | None = Query(None, max_length=10),
           limit: int = Query(5, ge=1, le=20), intent: str | None = Query(None, max_length=48),
           svc: Services = Depends(services)) -> dict[str, Any]:
    hits = svc.kb.search(q, lang=lang, limit=limit, intent=intent)
    return {"query": q, "items": [{"slug": h.slug, "lang": h.lang, "title": h.title, "score": h.score,
                                   "snippet": h.snippet, "intents": list(h.intents), "area": h.area} for h in hits]}


@router.get("/articles")
def catalog(lang: str | None = Query(None, max_length=10), area: str | None = Query(None, max_length=16),
            svc: Services = Depends(services)) -> dict[str, Any]:
    """The help center's contents: published articles grouped by service area."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for a in svc.kb.catalog(lang, area):
        groups.setdefault(a.area, []).append({"slug": a.slug, "title": a.title, "lang": a.language,
                                              "intents": list(a.intents)})
    return {"areas": [{"area": name, "items": items} for name, items in groups.items()]}


@router.get("/articles/{slug}")
def read_article(slug: str, lang: str | None = Query(None, max_length=10),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    return article_out(svc.kb.get(slug, lang))


@router.post("/articles/{slug}/votes")
def vote(slug: str, body: VoteIn, svc: Services = Depends(services)) -> dict[str, Any]:
    counts = svc.kb.vote(slug, body.lang, body.voter, body.helpful)
    return {"slug": counts.slug, "lang": counts.language, "helpful": counts.helpful,
            "not_helpful": counts.not_helpful}


@router.put("/articles/{slug}")
def edit_article(slug: str, body: ArticleIn, agent: AgentView = Depends(agent_with(EDIT_PERMISSION)),
                 svc: Services = Depends(services)) -> dict[str, Any]:
    area, intents = body.area, body.intents
    if area is None or intents is None:
        try:
            current = svc.kb.get(slug)
        except NotFound:
            if area is None:
                raise ValidationFailed("a new article needs its area", field="area") from None
            current = None
        area = area if area is not None else current.area if current else None
        intents = intents if intents is not None else list(current.intents) if current else []
    result: SaveResult = svc.kb.create_or_update(
        slug, area or "", intents, {lang: (t.title, t.body) for lang, t in body.texts.items()},
        author=f"agent:{agent.id}", actor=Actor.agent(agent.id))
    first = next(iter(body.texts))
    return {"slug": result.slug, "created": result.created, "changed": result.changed,
            "article": article_out(svc.kb.get(result.slug, first))}


@router.get("/articles/{slug}/versions")
def article_versions(slug: str, lang: str = Query(..., max_length=10),
                     agent: AgentView = Depends(agent_with(EDIT_PERMISSION)),
                     svc: Services = Depends(services)) -> dict[str, Any]:
    return {"slug": slug, "items": [
        {"lang": v.language, "version": v.version, "title": v.title, "body": v.body, "author": v.author,
         "created_at": v.created_at.isoformat()} for v in svc.kb.versions(slug, lang)]}
