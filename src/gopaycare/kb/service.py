"""The knowledge base: help articles in zh-CN, en and id, versioned, voted on, searched.

The help center, the agents and the assistant all read it here. Articles come from markdown files
(`articles/`, format in its README) loaded by `load_directory`, and from agents' edits
(`create_or_update`). Every change of a language's text adds a version; readers get the newest.

Files and edits live side by side: loading compares a file's text with the last version that was
imported from a file, so an unchanged file adds nothing even when an agent has edited the article
since (the edit stays), and a file that did change adds a version (the file wins). An article's
area, intents and status follow its file.

Search is hybrid (keyword BM25 plus optional embeddings), done in memory over `kb_index`; see
`search.py` for the scoring and its weights. The in-memory index is rebuilt when this process
changed the knowledge base, or when another process did (a cheap check of the newest version id
and index times before each search).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..platform.i18n import LANGUAGES, normalize_language
from .content import (
    ArticleSource,
    check_area,
    check_intents,
    check_language,
    check_slug,
    check_text,
    read_directory,
)
from .models import Article, ArticleIndex, ArticleVersion, ArticleVote
from .search import (
    FALLBACK_LANGUAGES,
    Doc,
    Embedder,
    SearchIndex,
    embedding_text,
    index_tokens,
    make_doc,
    query_terms,
    snippet,
)

if TYPE_CHECKING:
    from ..container import Services

log = logging.getLogger(__name__)

ARTICLES_DIR = Path(__file__).parent / "articles"
FILE_AUTHOR = "kb-files"
MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
_RETRIES = 3
EMBED_RETRY_SECONDS = 60.0


# ---------------------------------------------------------------- views


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
class VoteCounts:
    slug: str
    language: str
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class Hit:
    slug: str
    lang: str
    title: str
    score: float
    snippet: str
    intents: tuple[str, ...]
    area: str = ""


@dataclass(frozen=True)
class ArticleSummary:
    slug: str
    area: str
    intents: tuple[str, ...]
    language: str
    title: str


@dataclass(frozen=True)
class SaveResult:
    slug: str
    created: bool
    changed: dict[str, int]  # language -> the new version number (languages left alone are absent)


@dataclass(frozen=True)
class LoadReport:
    articles: int
    created: int
    new_versions: int
    updated_articles: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.new_versions or self.updated_articles)


# ---------------------------------------------------------------- the service


class KnowledgeBase:
    def __init__(self, db: Database, clock: Clock, embedder: Embedder | None = None, *,
                 keyword_weight: float = 0.5, min_similarity: float = 0.3, intent_boost: float = 0.2) -> None:
        if not 0.0 <= keyword_weight <= 1.0:
            raise ValueError("keyword_weight is between 0 and 1")
        self.db = db
        self.clock = clock
        self.embedder = embedder
        self.keyword_weight = keyword_weight
        self.min_similarity = min_similarity
        self.intent_boost = intent_boost
        self._lock = threading.RLock()
        self._index: SearchIndex | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._dirty = True
        self._embed_failed_at = -EMBED_RETRY_SECONDS

    # ---------------------------------------------------------------- embeddings

    def set_embedder(self, embedder: Embedder | None, *, recompute: bool = False) -> None:
        """Use `embedder` (list of texts -> array (n, d) of vectors) from now on, computing the
        vectors the index lacks now (an error here is raised); `recompute` redoes all of them (for a
        different model). Later changes are embedded as they are saved."""
        with self._lock:
            self.embedder = embedder
            self._dirty = True
            self._embed_failed_at = -EMBED_RETRY_SECONDS
        if embedder is not None and recompute:
            with self.db.transaction() as s:
                for row in s.scalars(select(ArticleIndex)):
                    row.embedding = None
        self._fill_embeddings(raise_errors=True)

    def _embed(self, texts: list[str]) -> list[bytes]:
        import numpy as np

        assert self.embedder is not None
        vectors = np.asarray(self.embedder(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"the embedder returned shape {vectors.shape} for {len(texts)} texts")
        return [v.tobytes() for v in vectors]

    def _fill_embeddings(self, *, raise_errors: bool = False) -> int:
        """Compute the vectors the index lacks (new or changed texts); returns how many. A failing
        embedder is logged and leaves them missing (search works on keywords and retries later),
        unless `raise_errors`."""
        if self.embedder is None:
            return 0
        if not raise_errors and time.monotonic() - self._embed_failed_at < EMBED_RETRY_SECONDS:
            return 0
        try:
            return self._compute_embeddings()
        except Exception:
            if raise_errors:
                raise
            self._embed_failed_at = time.monotonic()
            log.exception("knowledge base embeddings could not be computed; searching by keywords")
            return 0

    def _compute_embeddings(self) -> int:
        with self.db.read() as s:
            missing = s.execute(
                select(ArticleIndex.article_id, ArticleIndex.language).where(ArticleIndex.embedding.is_(None))
            ).all()
            texts = self._newest_texts(s, {(a, lang) for a, lang in missing})
        keys = [k for k in texts if texts[k] is not None]
        if not keys:
            return 0
        vectors = self._embed([embedding_text(*texts[k]) for k in keys])
        now = self.clock.now()
        with self.db.transaction() as s:
            for (article_id, lang), vector in zip(keys, vectors, strict=True):
                row = s.get(ArticleIndex, (article_id, lang))
                if row is not None and row.embedding is None:
                    row.embedding, row.updated_at = vector, now
        with self._lock:
            self._dirty = True
        return len(keys)

    # ---------------------------------------------------------------- loading files

    def load_directory(self, path: str | Path = ARTICLES_DIR, *, author: str = FILE_AUTHOR) -> LoadReport:
        """Import `<area>/<slug>.md` files: new articles are created, changed texts add a version,
        unchanged ones add nothing. All files are checked before anything is written."""
        sources = read_directory(path)
        report = self._retrying(lambda: self._import(sources, author))
        if report.changed:
            log.info("knowledge base loaded: %s articles, %s new, %s new versions", report.articles,
                     report.created, report.new_versions)
            self._fill_embeddings()
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
                    newest = self._newest(s, article.id, lang)
                    if newest is not None and (newest.title, newest.body) == (title, body):
                        continue
                    if newest is not None:
                        imported = self._newest(s, article.id, lang, author=author)
                        if imported is not None and (imported.title, imported.body) == (title, body):
                            continue  # the file is as last imported: an editor's later version stays
                    changed[lang] = self._add_version(s, article, lang, title, body, author, now, newest)
                if changed:
                    new_versions += len(changed)
                    audit.record(s, at=now, actor=Actor.system(), action="kb.article_saved",
                                 subject_type="kb_article", subject_id=article.slug, via="files",
                                 file=source.path, versions=changed)
            with self._lock:
                self._dirty = True
        return LoadReport(len(sources), created, new_versions, updated)

    # ---------------------------------------------------------------- editing

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
        result = self._retrying(lambda: self._save(slug, area, intents, checked, author, actor or Actor.system()))
        if result.changed:
            self._fill_embeddings()
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
                newest = self._newest(s, article.id, lang)
                if newest is None or (newest.title, newest.body) != (title, body):
                    changed[lang] = self._add_version(s, article, lang, title, body, author, now, newest)
            if created or changed:
                audit.record(s, at=now, actor=actor, action="kb.article_saved", subject_type="kb_article",
                             subject_id=slug, via="edit", created=created, versions=changed)
            with self._lock:
                self._dirty = True
        return SaveResult(slug, created, changed)

    def _add_version(self, s: Session, article: Article, lang: str, title: str, body: str, author: str,
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

    def _retrying(self, work: Any) -> Any:
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

    # ---------------------------------------------------------------- reading

    @staticmethod
    def _newest(s: Session, article_id: int, lang: str, *, author: str | None = None) -> ArticleVersion | None:
        stmt = select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.language == lang)
        if author is not None:
            stmt = stmt.where(ArticleVersion.author == author)
        return s.execute(stmt.order_by(ArticleVersion.version.desc()).limit(1)).scalar_one_or_none()

    @staticmethod
    def _newest_texts(s: Session, keys: set[tuple[int, str]] | None = None) -> dict[tuple[int, str], tuple[str, str]]:
        newest = (select(ArticleVersion.article_id, ArticleVersion.language,
                         func.max(ArticleVersion.version).label("version"))
                  .group_by(ArticleVersion.article_id, ArticleVersion.language).subquery())
        rows = s.execute(
            select(ArticleVersion.article_id, ArticleVersion.language, ArticleVersion.title, ArticleVersion.body)
            .join(newest, (ArticleVersion.article_id == newest.c.article_id)
                  & (ArticleVersion.language == newest.c.language) & (ArticleVersion.version == newest.c.version))
        ).all()
        return {(a, lang): (title, body) for a, lang, title, body in rows if keys is None or (a, lang) in keys}

    def _published(self, s: Session, slug: str) -> Article:
        article = s.execute(select(Article).where(Article.slug == slug)).scalar_one_or_none()
        if article is None or article.status != "published":
            raise NotFound("there is no such article", code="article_not_found", slug=str(slug)[:80])
        return article

    def get(self, slug: str, lang: str | None = None) -> ArticleView:
        """The newest text of an article in `lang`; an article without that language answers in
        zh-CN, then en (`language` says which one came back)."""
        wanted = normalize_language(lang)
        with self.db.read() as s:
            article = self._published(s, slug)
            languages = tuple(s.scalars(select(ArticleVersion.language).where(
                ArticleVersion.article_id == article.id).distinct()))
            if not languages:
                raise NotFound("the article has no text yet", code="article_not_found", slug=slug)
            chosen = next(x for x in (wanted, *FALLBACK_LANGUAGES) if x in languages)
            version = self._newest(s, article.id, chosen)
            assert version is not None
            helpful, not_helpful = self._counts(s, article.id, chosen)
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
        index = self._current_index()
        out = []
        for docs in index.by_article.values():
            doc = index.shown_doc(next(iter(docs.values())).article_id, wanted)
            if area is None or doc.area == area:
                out.append(ArticleSummary(doc.slug, doc.area, doc.intents, doc.language, doc.title))
        return sorted(out, key=lambda a: (AREAS.index(a.area) if a.area in AREAS else len(AREAS), a.slug))

    # ---------------------------------------------------------------- votes

    @staticmethod
    def _counts(s: Session, article_id: int, lang: str) -> tuple[int, int]:
        rows = dict(s.execute(
            select(ArticleVote.helpful, func.count()).where(
                ArticleVote.article_id == article_id, ArticleVote.language == lang
            ).group_by(ArticleVote.helpful)
        ).all())
        return int(rows.get(True, 0)), int(rows.get(False, 0))

    def vote(self, slug: str, lang: str, voter: str, helpful: bool) -> VoteCounts:
        """"Was this helpful?": one vote per voter and article language; voting again changes it."""
        lang = check_language(lang)
        voter = voter.strip() if isinstance(voter, str) else ""
        if not voter or len(voter) > 80:
            raise ValidationFailed("a voter is 1 to 80 characters", field="voter")
        if not isinstance(helpful, bool):
            raise ValidationFailed("helpful is true or false", field="helpful")
        return self._retrying(lambda: self._vote(slug, lang, voter, helpful))

    def _vote(self, slug: str, lang: str, voter: str, helpful: bool) -> VoteCounts:
        now = self.clock.now()
        with self.db.transaction() as s:
            article = self._published(s, slug)
            if self._newest(s, article.id, lang) is None:
                raise NotFound(f"the article has no {lang} text", code="article_language_not_found",
                               slug=slug, lang=lang)
            vote = s.execute(select(ArticleVote).where(
                ArticleVote.article_id == article.id, ArticleVote.language == lang, ArticleVote.voter == voter
            )).scalar_one_or_none()
            if vote is None:
                s.add(ArticleVote(article_id=article.id, language=lang, voter=voter, helpful=helpful, created_at=now))
            elif vote.helpful != helpful:
                vote.helpful, vote.created_at = helpful, now
            s.flush()
            helpful_count, not_helpful_count = self._counts(s, article.id, lang)
        return VoteCounts(slug, lang, helpful_count, not_helpful_count)

    # ---------------------------------------------------------------- search

    def _stamp_now(self) -> tuple[Any, ...]:
        with self.db.read() as s:
            return tuple(s.execute(select(
                select(func.max(ArticleVersion.id)).scalar_subquery(),
                select(func.max(Article.updated_at)).scalar_subquery(),
                select(func.count()).select_from(ArticleIndex).scalar_subquery(),
                select(func.max(ArticleIndex.updated_at)).scalar_subquery(),
            )).one())

    def _current_index(self) -> SearchIndex:
        if self.embedder is not None:
            with self.db.read() as s:
                lacking = s.execute(select(func.count()).select_from(ArticleIndex)
                                    .where(ArticleIndex.embedding.is_(None))).scalar_one()
            if lacking:
                self._fill_embeddings()
        stamp = self._stamp_now()
        with self._lock:
            if self._index is not None and not self._dirty and stamp == self._stamp:
                return self._index
            self._dirty = False
            self._index = self._build_index()
            self._stamp = stamp
            return self._index

    def _build_index(self) -> SearchIndex:
        with self.db.read() as s:
            articles = {a.id: a for a in s.scalars(select(Article).where(Article.status == "published"))}
            texts = self._newest_texts(s)
            rows = s.execute(select(ArticleIndex.article_id, ArticleIndex.language, ArticleIndex.tokens,
                                    ArticleIndex.embedding)).all()
        vectors_wanted = self.embedder is not None
        docs: list[Doc] = []
        for article_id, lang, tokens, embedding in rows:
            article = articles.get(article_id)
            text = texts.get((article_id, lang))
            if article is None or text is None:
                continue
            vector = _unit(embedding) if vectors_wanted and embedding else None
            docs.append(make_doc(article_id, article.slug, article.area, article.intents or (), lang,
                                 text[0], text[1], tokens, vector))
        docs.sort(key=lambda d: (d.slug, d.language))
        index = SearchIndex(docs)
        if vectors_wanted and any(d.vector is not None for d in docs) and not index.has_vectors:
            log.warning("knowledge base vectors have different sizes (a new embedding model?): "
                        "call set_embedder(..., recompute=True); searching by keywords meanwhile")
        return index

    def search(self, query: str, lang: str | None = None, limit: int = 5, intent: str | None = None) -> list[Hit]:
        """The articles that best answer `query` (see search.py for the scoring), shown in `lang`."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit is 1 to {MAX_LIMIT}", field="limit")
        language = normalize_language(lang) if lang else None
        query = (query or "")[:MAX_QUERY_CHARS]
        terms = query_terms(query) if query.strip() else {}
        if not terms and not intent:
            return []
        index = self._current_index()
        query_vector = None
        if self.embedder is not None and index.has_vectors and query.strip():
            import numpy as np

            query_vector = _unit(np.asarray(self.embedder([query]), dtype=np.float32)[0].tobytes())
        found = index.search(terms, query_vector=query_vector, language=language, intent=intent, limit=limit,
                             keyword_weight=self.keyword_weight, min_similarity=self.min_similarity,
                             intent_boost=self.intent_boost)
        return [Hit(slug=shown.slug, lang=shown.language, title=shown.title, score=round(scored.score, 4),
                    snippet=snippet(shown.plain, terms), intents=shown.intents, area=shown.area)
                for shown, scored in found]

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

    def reindex(self) -> int:
        """Recompute every index row from the newest versions (after a change of segmentation) and,
        with an embedder, every vector. Returns the number of rows."""
        now = self.clock.now()
        with self.db.transaction() as s:
            texts = self._newest_texts(s)
            for row in s.scalars(select(ArticleIndex)):
                s.delete(row)
            s.flush()
            for (article_id, lang), (title, body) in texts.items():
                s.add(ArticleIndex(article_id=article_id, language=lang, tokens=index_tokens(title, body),
                                   embedding=None, updated_at=now))
        with self._lock:
            self._dirty = True
        self._fill_embeddings()
        return len(texts)


def _unit(raw: bytes) -> Any:
    import numpy as np

    vector = np.frombuffer(raw, dtype=np.float32).astype(np.float64)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def ensure_loaded(services: Services) -> LoadReport:
    """At start-up (serve, demo): bring the articles shipped in `articles/` into the database. Cheap
    when nothing changed (the files are read and compared; nothing is written)."""
    return services.kb.load_directory(ARTICLES_DIR)
