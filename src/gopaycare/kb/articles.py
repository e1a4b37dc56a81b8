"""Reading articles: the newest text in a language, its versions, the catalog, the article for an intent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..platform.db import Database
from ..platform.errors import NotFound
from ..platform.i18n import LANGUAGES, normalize_language
from .content import check_area, check_language
from .index import LiveIndex
from .models import Article, ArticleVersion
from .search import FALLBACK_LANGUAGES
from .versions import newest, published
from .votes import counts


@dataclass(frozen=True)
class ArticleView:
    slug: str
    area: str
    intents: tuple[str, ...]
    language: str            # the language of this text
    requested_language: str  # the language asked for (falls back to zh-CN, then en)
    title: str
    body: str                # markdown
    version: int
    updated_at: datetime
    author: str | None
    languages: tuple[str, ...]  # every language the article has
    helpful: int
    not_helpful: int

    @property
    def fallback(self) -> bool:
        return self.language != self.requested_language


@dataclass(frozen=True)
class VersionView:
    language: str
    version: int
    title: str
    body: str
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class ArticleSummary:
    slug: str
    area: str
    intents: tuple[str, ...]
    language: str
    title: str


class Articles:
    def __init__(self, db: Database, index: LiveIndex) -> None:
        self.db = db
        self.index = index

    def get(self, slug: str, lang: str | None = None) -> ArticleView:
        """The newest text of an article in `lang`; an article without that language answers in
        zh-CN, then en (`language` says which one came back)."""
        wanted = normalize_language(lang)
        with self.db.read() as s:
            article = published(s, slug)
            languages = tuple(s.scalars(select(ArticleVersion.language).where(
                ArticleVersion.article_id == article.id).distinct()))
            if not languages:
                raise NotFound("the article has no text yet", code="article_not_found", slug=slug)
            chosen = next(x for x in (wanted, *FALLBACK_LANGUAGES) if x in languages)
            version = newest(s, article.id, chosen)
            assert version is not None
            helpful, not_helpful = counts(s, article.id, chosen)
            return ArticleView(slug=article.slug, area=article.area, intents=tuple(article.intents or ()),
                               language=chosen, requested_language=wanted, title=version.title, body=version.body,
                               version=version.version, updated_at=version.created_at, author=version.author,
                               languages=tuple(x for x in LANGUAGES if x in languages),
                               helpful=helpful, not_helpful=not_helpful)

    def versions(self, slug: str, lang: str) -> list[VersionView]:
        """Every version of one language of an article, oldest first."""
        lang = check_language(lang)
        with self.db.read() as s:
            article = s.execute(select(Article).where(Article.slug == slug)).scalar_one_or_none()
            if article is None:
                raise NotFound("there is no such article", code="article_not_found", slug=str(slug)[:80])
            rows = s.scalars(select(ArticleVersion).where(
                ArticleVersion.article_id == article.id, ArticleVersion.language == lang
            ).order_by(ArticleVersion.version))
            return [VersionView(v.language, v.version, v.title, v.body, v.author, v.created_at) for v in rows]

    def catalog(self, lang: str | None = None, area: str | None = None) -> list[ArticleSummary]:
        """Every published article, by area (in AREAS order) then slug, titled in `lang` (or its
        fallback): the help center's table of contents."""
        from .content import AREAS

        wanted = normalize_language(lang)
        if area is not None:
            area = check_area(area)
        index = self.index.current()
        out = []
        for docs in index.by_article.values():
            doc = index.shown_doc(next(iter(docs.values())).article_id, wanted)
            if area is None or doc.area == area:
                out.append(ArticleSummary(doc.slug, doc.area, doc.intents, doc.language, doc.title))
        return sorted(out, key=lambda a: (AREAS.index(a.area) if a.area in AREAS else len(AREAS), a.slug))

    def by_intent(self, intent: str, lang: str | None = None) -> ArticleView | None:
        """The article the assistant cites for an intent: of the published articles that list it,
        the one listing it earliest, then the one with the fewest intents (the most specific), then
        by slug. None when no article answers the intent."""
        with self.db.read() as s:
            articles = list(s.scalars(select(Article).where(Article.status == "published")))
        ranked = sorted(
            ((list(a.intents).index(intent), len(a.intents), a.slug) for a in articles if intent in (a.intents or ())),
        )
        if not ranked:
            return None
        return self.get(ranked[0][2], lang)
