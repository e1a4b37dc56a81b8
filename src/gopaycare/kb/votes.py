""""Was this helpful?": one vote per voter and article language; voting again changes it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import NotFound, ValidationFailed
from .content import check_language
from .models import ArticleVote
from .versions import newest, published, retrying


@dataclass(frozen=True)
class VoteCounts:
    slug: str
    language: str
    helpful: int
    not_helpful: int


def counts(s: Session, article_id: int, lang: str) -> tuple[int, int]:
    rows = dict(s.execute(
        select(ArticleVote.helpful, func.count()).where(
            ArticleVote.article_id == article_id, ArticleVote.language == lang
        ).group_by(ArticleVote.helpful)
    ).all())
    return int(rows.get(True, 0)), int(rows.get(False, 0))


class Votes:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def vote(self, slug: str, lang: str, voter: str, helpful: bool) -> VoteCounts:
        """"Was this helpful?": one vote per voter and article language; voting again changes it."""
        lang = check_language(lang)
        voter = voter.strip() if isinstance(voter, str) else ""
        if not voter or len(voter) > 80:
            raise ValidationFailed("a voter is 1 to 80 characters", field="voter")
        if not isinstance(helpful, bool):
            raise ValidationFailed("helpful is true or false", field="helpful")
        return retrying(lambda: self._vote(slug, lang, voter, helpful))

    def _vote(self, slug: str, lang: str, voter: str, helpful: bool) -> VoteCounts:
        now = self.clock.now()
        with self.db.transaction() as s:
            article = published(s, slug)
            if newest(s, article.id, lang) is None:
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
            helpful_count, not_helpful_count = counts(s, article.id, lang)
        return VoteCounts(slug, lang, helpful_count, not_helpful_count)
