"""Agents' edits: create an article or add a version to each language whose text changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import ValidationFailed
from .content import check_area, check_intents, check_language, check_slug, check_text
from .index import LiveIndex
from .models import Article
from .versions import add_version, newest, retrying


@dataclass(frozen=True)
class SaveResult:
    slug: str
    created: bool
    changed: dict[str, int]  # language -> the new version number (languages left alone are absent)


class Editor:
    def __init__(self, db: Database, clock: Clock, index: LiveIndex) -> None:
        self.db = db
        self.clock = clock
        self.index = index

    def create_or_update(self, slug: str, area: str, intents: Iterable[str],
                         texts: Mapping[str, tuple[str, str]], author: str, *,
                         actor: Actor | None = None) -> SaveResult:
        """Create an article or edit it: each language whose title or body differs from its newest
        version gets a new version; the same text again changes nothing."""
        slug, area = check_slug(slug), check_area(area)
        intents = check_intents(list(intents))
        if not isinstance(texts, Mapping) or not texts:
            raise ValidationFailed("texts needs at least one language", field="texts")
        checked: dict[str, tuple[str, str]] = {}
        for lang, text in texts.items():
            lang = check_language(lang)
            if lang in checked:
                raise ValidationFailed(f"two texts for {lang}", field="texts")
            if not isinstance(text, (tuple, list)) or len(text) != 2:
                raise ValidationFailed("a text is (title, body)", field=f"texts.{lang}")
            checked[lang] = check_text(lang, text[0], text[1])
        author = (author or "").strip()[:120]
        if not author:
            raise ValidationFailed("an edit needs an author", field="author")
        result = retrying(lambda: self._save(slug, area, intents, checked, author, actor or Actor.system()))
        if result.changed:
            self.index.fill_embeddings()
        return result

    def _save(self, slug: str, area: str, intents: tuple[str, ...], texts: dict[str, tuple[str, str]],
              author: str, actor: Actor) -> SaveResult:
        now = self.clock.now()
        with self.db.transaction() as s:
            article = s.execute(select(Article).where(Article.slug == slug).with_for_update()).scalar_one_or_none()
            created = article is None
            if article is None:
                article = Article(slug=slug, area=area, intents=list(intents), status="published",
                                  created_at=now, updated_at=now)
                s.add(article)
                s.flush()
            elif (article.area, list(article.intents or [])) != (area, list(intents)):
                article.area, article.intents, article.updated_at = area, list(intents), now
            changed: dict[str, int] = {}
            for lang, (title, body) in texts.items():
                current = newest(s, article.id, lang)
                if current is None or (current.title, current.body) != (title, body):
                    changed[lang] = add_version(s, article, lang, title, body, author, now, current)
            if created or changed:
                audit.record(s, at=now, actor=actor, action="kb.article_saved", subject_type="kb_article",
                             subject_id=slug, via="edit", created=created, versions=changed)
            self.index.changed()
        return SaveResult(slug, created, changed)
