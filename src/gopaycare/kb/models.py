"""Knowledge base tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime


class Article(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    area: Mapped[str] = mapped_column(String(16), nullable=False)
    # The assistant intents this article answers (a list of names from intents.yaml).
    intents: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="published")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),)


class ArticleVersion(Base):
    """One language's text of an article; editing adds a version, the newest is shown."""

    __tablename__ = "kb_article_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # markdown
    author: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("article_id", "language", "version"),
        CheckConstraint("language IN ('zh-CN', 'en', 'id')", name="language"),
    )


class ArticleVote(Base):
    """"Was this helpful?" — one vote per voter and article language, changeable."""

    __tablename__ = "kb_votes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False)
    voter: Mapped[str] = mapped_column(String(80), nullable=False)
    helpful: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("article_id", "language", "voter"),)


class ArticleIndex(Base):
    """Search material of the current version of one article language: segmented text and an
    embedding (float32 bytes) for the hybrid search."""

    __tablename__ = "kb_index"

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    tokens: Mapped[str] = mapped_column(Text, nullable=False)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_kb_index_language", "language"),)
