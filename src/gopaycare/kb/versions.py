"""An article's versions, the rows every job of the knowledge base shares.

Every change of a language's text adds a version together with its search index row; readers get
the newest. These helpers work inside the caller's session: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform.errors import Conflict, NotFound
from .models import Article, ArticleIndex, ArticleVersion
from .search import index_tokens

_RETRIES = 3


def newest(s: Session, article_id: int, lang: str, *, author: str | None = None) -> ArticleVersion | None:
    stmt = select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.language == lang)
    if author is not None:
        stmt = stmt.where(ArticleVersion.author == author)
    return s.execute(stmt.order_by(ArticleVersion.version.desc()).limit(1)).scalar_one_or_none()


def newest_texts(s: Session, keys: set[tuple[int, str]] | None = None) -> dict[tuple[int, str], tuple[str, str]]:
    newest = (select(ArticleVersion.article_id, ArticleVersion.language,
                     func.max(ArticleVersion.version).label("version"))
              .group_by(ArticleVersion.article_id, ArticleVersion.language).subquery())
    rows = s.execute(
        select(ArticleVersion.article_id, ArticleVersion.language, ArticleVersion.title, ArticleVersion.body)
        .join(newest, (ArticleVersion.article_id == newest.c.article_id)
              & (ArticleVersion.language == newest.c.language) & (ArticleVersion.version == newest.c.version))
    ).all()
    return {(a, lang): (title, body) for a, lang, title, body in rows if keys is None or (a, lang) in keys}


def published(s: Session, slug: str) -> Article:
    article = s.execute(select(Article).where(Article.slug == slug)).scalar_one_or_none()
    if article is None or article.status != "published":
        raise NotFound("there is no such article", code="article_not_found", slug=str(slug)[:80])
    return article


def add_version(s: Session, article: Article, lang: str, title: str, body: str, author: str,
                now: datetime, newest: ArticleVersion | None) -> int:
    number = (newest.version if newest else 0) + 1
    s.add(ArticleVersion(article_id=article.id, language=lang, version=number, title=title, body=body,
                         author=author, created_at=now))
    row = s.get(ArticleIndex, (article.id, lang))
    tokens = index_tokens(title, body)
    if row is None:
        s.add(ArticleIndex(article_id=article.id, language=lang, tokens=tokens, embedding=None, updated_at=now))
    else:
        row.tokens, row.embedding, row.updated_at = tokens, None, now
    article.updated_at = now
    s.flush()
    return number


def retrying(work: Any) -> Any:
    """Two processes starting at once may both create the same article or version: the loser
    retries and finds the winner's rows."""
    for attempt in range(_RETRIES):
        try:
            return work()
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise Conflict("the knowledge base changed at the same time; try again",
                               code="kb_concurrent_edit") from None
    raise AssertionError("unreachable")
