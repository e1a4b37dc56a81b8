"""The knowledge base over HTTP: public reading, search and votes (the help center, no login), and
editing for agents who hold `macro.manage` (each edit adds a version)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...kb.service import SaveResult
from ...platform.audit import Actor
from ...platform.errors import NotFound, ValidationFailed
from ..deps import CanManageMacros, Svc
from ..ratelimits import limited
from ..schemas.kb import (
    ArticleIn,
    ArticleOut,
    CatalogOut,
    HitOut,
    SavedOut,
    SearchOut,
    VersionOut,
    VersionsOut,
    VoteCountsOut,
    VoteIn,
)

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])

# Editing the knowledge base goes with editing macros: the same people write both.
CanEdit = CanManageMacros
Lang = Annotated[str | None, Query(max_length=10)]


@router.get("/search")
def search(svc: Svc, q: Annotated[str, Query(max_length=500)] = "", lang: Lang = None,
           limit: Annotated[int, Query(ge=1, le=20)] = 5,
           intent: Annotated[str | None, Query(max_length=48)] = None) -> SearchOut:
    hits = svc.kb.search(q, lang=lang, limit=limit, intent=intent)
    return SearchOut(query=q, items=[HitOut.of(h) for h in hits])


@router.get("/articles")
def catalog(svc: Svc, lang: Lang = None, area: Annotated[str | None, Query(max_length=16)] = None) -> CatalogOut:
    """The help center's contents: published articles grouped by service area."""
    return CatalogOut.of(svc.kb.catalog(lang, area))


@router.get("/articles/{slug}")
def read_article(slug: str, svc: Svc, lang: Lang = None) -> ArticleOut:
    return ArticleOut.of(svc.kb.get(slug, lang))


@router.post("/articles/{slug}/votes", dependencies=[limited("kb_vote")])
def vote(slug: str, body: VoteIn, svc: Svc) -> VoteCountsOut:
    return VoteCountsOut.of(svc.kb.vote(slug, body.lang, body.voter, body.helpful))


@router.put("/articles/{slug}")
def edit_article(slug: str, body: ArticleIn, agent: CanEdit, svc: Svc) -> SavedOut:
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
    return SavedOut(slug=result.slug, created=result.created, changed=result.changed,
                    article=ArticleOut.of(svc.kb.get(result.slug, first)))


@router.get("/articles/{slug}/versions")
def article_versions(slug: str, lang: Annotated[str, Query(max_length=10)], _: CanEdit, svc: Svc) -> VersionsOut:
    return VersionsOut(slug=slug, items=[VersionOut.of(v) for v in svc.kb.versions(slug, lang)])
