"""The knowledge base: help articles in zh-CN, en and id, versioned, voted on, searched.

The help center, the agents and the assistant all read it here. Articles come from markdown files
(`articles/`, format in its README) loaded by `load_directory`, and from agents' edits
(`create_or_update`). Every change of a language's text adds a version; readers get the newest.

`KnowledgeBase` is the one entry point; each job lives in its own module:
- `articles.py`: reading an article, its versions, the catalog, the article for an intent;
- `editing.py`: agents' edits;
- `loading.py`: the article files, and how they and agents' edits live side by side;
- `votes.py`: "Was this helpful?";
- `index.py`: the in-memory search index, kept current with the database, and embeddings;
- `versions.py`: the version rows the jobs share; `content.py`: the file format and its checks;
  `search.py`: the scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from .articles import Articles, ArticleSummary, ArticleView, VersionView
from .editing import Editor, SaveResult
from .index import Hit, LiveIndex
from .loading import ARTICLES_DIR, FILE_AUTHOR, Loader, LoadReport
from .search import Embedder
from .votes import VoteCounts, Votes

__all__ = ["ARTICLES_DIR", "FILE_AUTHOR", "ArticleSummary", "ArticleView", "Hit", "KnowledgeBase", "LoadReport",
           "SaveResult", "VersionView", "VoteCounts", "ensure_loaded"]


class KnowledgeBase:
    def __init__(self, db: Database, clock: Clock, embedder: Embedder | None = None, *,
                 keyword_weight: float = 0.5, min_similarity: float = 0.3, intent_boost: float = 0.2) -> None:
        self._index = LiveIndex(db, clock, embedder, keyword_weight=keyword_weight, min_similarity=min_similarity,
                                intent_boost=intent_boost)
        self._articles = Articles(db, self._index)
        self._editor = Editor(db, clock, self._index)
        self._loader = Loader(db, clock, self._index)
        self._votes = Votes(db, clock)

    def set_embedder(self, embedder: Embedder | None, *, recompute: bool = False) -> None:
        """Search with embeddings from now on (or without, given None); see `LiveIndex.set_embedder`."""
        self._index.set_embedder(embedder, recompute=recompute)

    def load_directory(self, path: str | Path = ARTICLES_DIR, *, author: str = FILE_AUTHOR) -> LoadReport:
        """Import `<area>/<slug>.md` files; see loading.py."""
        return self._loader.load_directory(path, author=author)

    def create_or_update(self, slug: str, area: str, intents: Iterable[str],
                         texts: Mapping[str, tuple[str, str]], author: str, *,
                         actor: Actor | None = None) -> SaveResult:
        """An agent's edit: a new version for each language whose text changed; see `Editor`."""
        return self._editor.create_or_update(slug, area, intents, texts, author, actor=actor)

    def get(self, slug: str, lang: str | None = None) -> ArticleView:
        """The newest text of an article in `lang` (or its fallback language); see `Articles.get`."""
        return self._articles.get(slug, lang)

    def versions(self, slug: str, lang: str) -> list[VersionView]:
        """Every version of one language of an article, oldest first."""
        return self._articles.versions(slug, lang)

    def catalog(self, lang: str | None = None, area: str | None = None) -> list[ArticleSummary]:
        """The help center's table of contents; see `Articles.catalog`."""
        return self._articles.catalog(lang, area)

    def vote(self, slug: str, lang: str, voter: str, helpful: bool) -> VoteCounts:
        """"Was this helpful?"; see votes.py."""
        return self._votes.vote(slug, lang, voter, helpful)

    def search(self, query: str, lang: str | None = None, limit: int = 5, intent: str | None = None) -> list[Hit]:
        """The articles that best answer `query`, shown in `lang`; see `LiveIndex.search`."""
        return self._index.search(query, lang, limit, intent)

    def by_intent(self, intent: str, lang: str | None = None) -> ArticleView | None:
        """The article the assistant cites for an intent, or None; see `Articles.by_intent`."""
        return self._articles.by_intent(intent, lang)


def ensure_loaded(kb: KnowledgeBase) -> LoadReport:
    """At start-up (serve, demo): bring the articles shipped in `articles/` into the database. Cheap
    when nothing changed (the files are read and compared; nothing is written)."""
    return kb.load_directory(ARTICLES_DIR)
