"""The knowledge base over HTTP: articles, search hits, votes, versions, edits."""

from __future__ import annotations

from pydantic import Field

from ...kb.service import ArticleSummary, ArticleView, Hit, VersionView, VoteCounts
from .common import In, Out, Timestamp


class VoteIn(In):
    lang: str = Field(min_length=2, max_length=10)
    helpful: bool
    voter: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:@-]+$")


class TextIn(In):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class ArticleIn(In):
    """An edit: the texts to change (others stay as they are); area and intents only to change them
    (a new article needs its area)."""

    texts: dict[str, TextIn] = Field(min_length=1, max_length=3)
    area: str | None = None
    intents: list[str] | None = Field(default=None, max_length=20)


class VotesOut(Out):
    helpful: int
    not_helpful: int


class ArticleOut(Out):
    slug: str
    area: str
    intents: list[str]
    lang: str = Field(description="the language of this text")
    requested_lang: str
    fallback: bool = Field(description="true when the requested language was missing")
    title: str
    body: str
    format: str = Field(description='always "markdown"')
    version: int
    updated_at: Timestamp
    languages: list[str] = Field(description="every language the article has")
    votes: VotesOut

    @classmethod
    def of(cls, view: ArticleView) -> ArticleOut:
        return cls(slug=view.slug, area=view.area, intents=list(view.intents), lang=view.language,
                   requested_lang=view.requested_language, fallback=view.fallback, title=view.title,
                   body=view.body, format="markdown", version=view.version, updated_at=view.updated_at,
                   languages=list(view.languages), votes=VotesOut(helpful=view.helpful, not_helpful=view.not_helpful))


class HitOut(Out):
    slug: str
    lang: str
    title: str
    score: float
    snippet: str
    intents: list[str]
    area: str

    @classmethod
    def of(cls, h: Hit) -> HitOut:
        return cls(slug=h.slug, lang=h.lang, title=h.title, score=h.score, snippet=h.snippet,
                   intents=list(h.intents), area=h.area)


class SearchOut(Out):
    query: str
    items: list[HitOut]


class CatalogItemOut(Out):
    slug: str
    title: str
    lang: str
    intents: list[str]

    @classmethod
    def of(cls, a: ArticleSummary) -> CatalogItemOut:
        return cls(slug=a.slug, title=a.title, lang=a.language, intents=list(a.intents))


class AreaOut(Out):
    area: str
    items: list[CatalogItemOut]


class CatalogOut(Out):
    areas: list[AreaOut]

    @classmethod
    def of(cls, articles: list[ArticleSummary]) -> CatalogOut:
        """Grouped by service area, in the order the areas first appear."""
        groups: dict[str, list[CatalogItemOut]] = {}
        for a in articles:
            groups.setdefault(a.area, []).append(CatalogItemOut.of(a))
        return cls(areas=[AreaOut(area=name, items=items) for name, items in groups.items()])


class VoteCountsOut(Out):
    slug: str
    lang: str
    helpful: int
    not_helpful: int

    @classmethod
    def of(cls, counts: VoteCounts) -> VoteCountsOut:
        return cls(slug=counts.slug, lang=counts.language, helpful=counts.helpful, not_helpful=counts.not_helpful)


class SavedOut(Out):
    slug: str
    created: bool
    changed: dict[str, int] = Field(description="language -> its new version (languages left alone are absent)")
    article: ArticleOut


class VersionOut(Out):
    lang: str
    version: int
    title: str
    body: str
    author: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, v: VersionView) -> VersionOut:
        return cls(lang=v.language, version=v.version, title=v.title, body=v.body, author=v.author,
                   created_at=v.created_at)


class VersionsOut(Out):
    slug: str
    items: list[VersionOut]
