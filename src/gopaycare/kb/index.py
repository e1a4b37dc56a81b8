"""The search index kept in memory, current with the database, and searched.

Search is hybrid (keyword BM25 plus optional embeddings), done in memory over `kb_index`; see
`search.py` for the scoring and its weights. The in-memory index is rebuilt when this process
changed the knowledge base (the other jobs call `changed`), or when another process did (a cheap
check of the newest version id and index times before each search).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import ValidationFailed
from ..platform.i18n import normalize_language
from .models import Article, ArticleIndex, ArticleVersion
from .search import Doc, Embedder, SearchIndex, embedding_text, make_doc, query_terms, snippet
from .versions import newest_texts

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
EMBED_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Hit:
    slug: str
    lang: str
    title: str
    score: float
    snippet: str
    intents: tuple[str, ...]
    area: str = ""


class LiveIndex:
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

    def changed(self) -> None:
        """This process changed the knowledge base: rebuild before the next search."""
        with self._lock:
            self._dirty = True

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
        self.fill_embeddings(raise_errors=True)

    def _embed(self, texts: list[str]) -> list[bytes]:
        import numpy as np

        assert self.embedder is not None
        vectors = np.asarray(self.embedder(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"the embedder returned shape {vectors.shape} for {len(texts)} texts")
        return [v.tobytes() for v in vectors]

    def fill_embeddings(self, *, raise_errors: bool = False) -> int:
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
            texts = newest_texts(s, {(a, lang) for a, lang in missing})
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

    # ---------------------------------------------------------------- the index in memory

    def _stamp_now(self) -> tuple[Any, ...]:
        with self.db.read() as s:
            return tuple(s.execute(select(
                select(func.max(ArticleVersion.id)).scalar_subquery(),
                select(func.max(Article.updated_at)).scalar_subquery(),
                select(func.count()).select_from(ArticleIndex).scalar_subquery(),
                select(func.max(ArticleIndex.updated_at)).scalar_subquery(),
            )).one())

    def current(self) -> SearchIndex:
        if self.embedder is not None:
            with self.db.read() as s:
                lacking = s.execute(select(func.count()).select_from(ArticleIndex)
                                    .where(ArticleIndex.embedding.is_(None))).scalar_one()
            if lacking:
                self.fill_embeddings()
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
            texts = newest_texts(s)
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

    # ---------------------------------------------------------------- search

    def search(self, query: str, lang: str | None = None, limit: int = 5, intent: str | None = None) -> list[Hit]:
        """The articles that best answer `query` (see search.py for the scoring), shown in `lang`."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit is 1 to {MAX_LIMIT}", field="limit")
        language = normalize_language(lang) if lang else None
        query = (query or "")[:MAX_QUERY_CHARS]
        terms = query_terms(query) if query.strip() else {}
        if not terms and not intent:
            return []
        index = self.current()
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


def _unit(raw: bytes) -> Any:
    import numpy as np

    vector = np.frombuffer(raw, dtype=np.float32).astype(np.float64)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
