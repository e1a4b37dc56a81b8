"""Loading the article files (`articles/`, format in its README) into the database.

Files and edits live side by side: loading compares a file's text with the last version that was
imported from a file, so an unchanged file adds nothing even when an agent has edited the article
since (the edit stays), and a file that did change adds a version (the file wins). An article's
area, intents and status follow its file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from .content import ArticleSource, read_directory
from .index import LiveIndex
from .models import Article
from .versions import add_version, newest, retrying

log = logging.getLogger(__name__)

ARTICLES_DIR = Path(__file__).parent / "articles"
FILE_AUTHOR = "kb-files"


@dataclass(frozen=True)
class LoadReport:
    articles: int
    created: int
    new_versions: int
    updated_articles: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.new_versions or self.updated_articles)


class Loader:
    def __init__(self, db: Database, clock: Clock, index: LiveIndex) -> None:
        self.db = db
        self.clock = clock
        self.index = index

    def load_directory(self, path: str | Path, *, author: str) -> LoadReport:
        """Import `<area>/<slug>.md` files: new articles are created, changed texts add a version,
        unchanged ones add nothing. All files are checked before anything is written."""
        sources = read_directory(path)
        report = retrying(lambda: self._import(sources, author))
        if report.changed:
            log.info("knowledge base loaded: %s articles, %s new, %s new versions", report.articles,
                     report.created, report.new_versions)
            self.index.fill_embeddings()
        return report

    def _import(self, sources: list[ArticleSource], author: str) -> LoadReport:
        now = self.clock.now()
        created = new_versions = updated = 0
        with self.db.transaction() as s:
            slugs = [x.slug for x in sources]
            existing = {a.slug: a for a in s.scalars(select(Article).where(Article.slug.in_(slugs)))}
            for source in sources:
                article = existing.get(source.slug)
                if article is None:
                    article = Article(slug=source.slug, area=source.area, intents=list(source.intents),
                                      status=source.status, created_at=now, updated_at=now)
                    s.add(article)
                    s.flush()
                    created += 1
                elif (article.area, list(article.intents or []), article.status) != (
                        source.area, list(source.intents), source.status):
                    article.area, article.intents, article.status = source.area, list(source.intents), source.status
                    article.updated_at = now
                    updated += 1
                changed: dict[str, int] = {}
                for lang, (title, body) in source.texts.items():
                    current = newest(s, article.id, lang)
                    if current is not None and (current.title, current.body) == (title, body):
                        continue
                    if current is not None:
                        imported = newest(s, article.id, lang, author=author)
                        if imported is not None and (imported.title, imported.body) == (title, body):
                            continue  # the file is as last imported: an editor's later version stays
                    changed[lang] = add_version(s, article, lang, title, body, author, now, current)
                if changed:
                    new_versions += len(changed)
                    audit.record(s, at=now, actor=Actor.system(), action="kb.article_saved",
                                 subject_type="kb_article", subject_id=article.slug, via="files",
                                 file=source.path, versions=changed)
            self.index.changed()
        return LoadReport(len(sources), created, new_versions, updated)
