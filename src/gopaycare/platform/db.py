"""Database engine, the unit of work, and on-commit hooks.

One transaction per use case: a service opens `db.transaction()`, does its work and the block
commits when it leaves without an error (rolls back otherwise). Helpers take the session as an
argument and never commit on their own. Side effects that must not happen for a rolled-back
change (notifications, pushed events, jobs) are registered with `on_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both SQLite (no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 40)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # SQLite's deferred transactions fail with "database is locked" when two writers upgrade
    # their read locks at once; BEGIN IMMEDIATE takes the write lock up front so writers queue.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("gopaycare_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._readers = sessionmaker(
            self.engine.execution_options(gopaycare_readonly=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits on normal exit, rolls back on an exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: never commits (and on SQLite does not take the write lock)."""
        session = self._readers()
        try:
            yield session
        finally:
            # Callers use what they read after the block (a session row, outbox messages): detach
            # the objects first, or the rollback expires them and any attribute access outside
            # the session raises DetachedInstanceError.
            session.expunge_all()
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


_HOOKS = "gopaycare_on_commit"


def on_commit(session: Session, callback: Callable[[], None], *, first: bool = False) -> None:
    """Run `callback` once the session's transaction commits; drop it on rollback.

    `first` puts it ahead of the hooks already registered: for announcing what this transaction
    committed, which must go out before any hook that commits more (a job run at once, say), so
    listeners see the commits in their order."""
    hooks = session.info.setdefault(_HOOKS, [])
    if first:
        hooks.insert(0, callback)
    else:
        hooks.append(callback)


@event.listens_for(Session, "after_commit")
def _run_commit_hooks(session: Session) -> None:
    hooks = session.info.pop(_HOOKS, [])
    for hook in hooks:
        hook()


@event.listens_for(Session, "after_soft_rollback")
def _drop_commit_hooks(session: Session, previous: Any) -> None:
    # A savepoint rolling back must not drop the hooks of the whole transaction.
    if previous.nested or previous.parent is not None:
        return
    session.info.pop(_HOOKS, None)
