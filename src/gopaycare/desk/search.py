"""Full-text search over tickets: subject, every message (agents' internal notes included), tags and
linked transaction references, in Chinese, English and Bahasa Indonesia.

Text is word-segmented in Python (`platform.text`) before it is stored in `ticket_search`, so both
engines only split on spaces: SQLite through the FTS5 table `ticket_search_fts` (kept in sync by
triggers), PostgreSQL through the GIN index on to_tsvector('simple', tokens). A ticket's text is
refreshed once per unit of work that changed it (a handler on the desk's events calls
`index_at_commit`); agents call `search`.

A query is segmented the same way and every word must match. Query words reach the engines only as
bound parameters: on SQLite each is an FTS5 string ("word"), on PostgreSQL plainto_tsquery parses
them, so FTS syntax typed by a user (OR, NEAR, quotes, parentheses) is just text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Float, column, func, literal_column, select, table, update
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..platform.db import Database
from ..platform.errors import ValidationFailed
from ..platform.pii import mask_text
from ..platform.text import query_tokens, search_tokens
from .access import Viewer, visible
from .events import at_commit
from .lifecycle import STATUSES
from .models import Message, Ticket, TicketLink, TicketSearch

# Common words are ranked among the newest FIRST_WINDOW tickets, read in id order (never through the
# word index: for a word in a tenth of a big desk, the index would hand over every all-time match,
# ~100 ms at a million tickets, before the recency filter). A query with fewer matches there than
# asked for is rare enough for the word index: the newest RECENT_WINDOW, then all tickets.
FIRST_WINDOW = 10_000
RECENT_WINDOW = 50_000
MAX_LIMIT = 100
MAX_QUERY_CHARS = 500
# Stored text per ticket, in characters: far above a real case, and keeps PostgreSQL's tsvector
# (1 MB at most) from failing the customer's message on a runaway ticket.
MAX_INDEXED_CHARS = 100_000

_fts = table("ticket_search_fts", column("rowid"))
_fts_table = literal_column("ticket_search_fts")


def _fts5_query(tokens: list[str]) -> str:
    """Each word as an FTS5 string; juxtaposed strings must all match."""
    return " ".join('"' + token.replace('"', '""') + '"' for token in tokens)


@dataclass
class _Pending:
    """What a unit of work changed in one ticket's searchable text."""

    ticket: Ticket
    rebuild: bool = False
    appended: list[Message] = field(default_factory=list)


class TicketSearchIndex:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- writing

    def index_at_commit(self, s: Session, ticket: Ticket, now: datetime, appended: Message | None = None) -> None:
        """Refresh the ticket's text once, when its unit of work commits, however many of its
        messages and fields changed in it. `appended`: the change is only this new message, so its
        words are added to the stored text instead of rebuilding it from every message the ticket
        has (a long conversation would otherwise cost more with each message)."""
        pending: dict[int, _Pending] = s.info.setdefault("gopaycare_search_pending", {})
        entry = pending.setdefault(ticket.id, _Pending(ticket))
        if appended is None:
            entry.rebuild = True
        else:
            entry.appended.append(appended)

        def index_all() -> None:
            for item in s.info.pop("gopaycare_search_pending", {}).values():
                if item.rebuild or not self._append(s, item.ticket.id, item.appended, now):
                    self.index(s, item.ticket, now)

        at_commit(s, "search_index", index_all)

    def _append(self, s: Session, ticket_id: int, messages: list[Message], now: datetime) -> bool:
        """Add the messages' words to the stored text; False when there is no stored text yet or it
        would grow past the limit (the caller rebuilds, which also applies the limit)."""
        tokens = " ".join(filter(None, (search_tokens(mask_text(m.body)) for m in messages)))
        if not tokens:
            return True
        done = s.execute(update(TicketSearch).where(
            TicketSearch.ticket_id == ticket_id,
            func.length(TicketSearch.tokens) + len(tokens) + 1 <= MAX_INDEXED_CHARS,
        ).values(tokens=TicketSearch.tokens + " " + tokens, updated_at=now).execution_options(
            synchronize_session=False))
        return bool(done.rowcount)

    def index(self, s: Session, ticket: Ticket, now: datetime) -> None:
        """Refresh the ticket's stored text, in the caller's unit of work."""
        references = s.scalars(select(TicketLink.reference).where(TicketLink.ticket_id == ticket.id)
                               .order_by(TicketLink.id)).all()
        bodies = s.scalars(select(Message.body).where(Message.ticket_id == ticket.id).order_by(Message.id)).all()
        parts: list[str] = []
        size = 0
        for text in (ticket.subject, " ".join(ticket.tags or ()), " ".join(references), *bodies):
            # Personal data is masked before it is indexed: a search must not confirm a guessed
            # phone or ID number that the agent is not allowed to see.
            tokens = search_tokens(mask_text(text))
            if not tokens:
                continue
            if size + len(tokens) > MAX_INDEXED_CHARS:
                break
            parts.append(tokens)
            size += len(tokens) + 1
        values = {"ticket_id": ticket.id, "tokens": " ".join(parts), "updated_at": now}
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(TicketSearch).values(**values)
        s.execute(stmt.on_conflict_do_update(index_elements=[TicketSearch.ticket_id],
                                             set_={"tokens": stmt.excluded.tokens,
                                                   "updated_at": stmt.excluded.updated_at}))

    # ---------------------------------------------------------------- reading

    def search(self, viewer: Viewer, query: str, *, limit: int = 20, status: str | None = None) -> list[int]:
        """Ids of the tickets the viewer may see that contain every word of the query, best match
        first (then newest). Merged tickets are left out: their text lives on in the target."""
        if not (query or "").strip():
            raise ValidationFailed("type something to search for", field="query")
        if len(query) > MAX_QUERY_CHARS:
            raise ValidationFailed(f"a search is at most {MAX_QUERY_CHARS} characters", field="query")
        if status is not None and status not in STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}", field="status")
        if limit < 1:
            raise ValidationFailed("limit must be at least 1", field="limit")
        tokens = query_tokens(query)
        if not tokens:
            return []  # only punctuation or symbols: nothing can match
        def narrowed(stmt: Select[int]) -> Select[int]:
            stmt = stmt.where(visible(viewer), Ticket.merged_into_id.is_(None), Ticket.status != "merged")
            return stmt if status is None else stmt.where(Ticket.status == status)

        with self.db.read() as s:
            postgresql = s.get_bind().dialect.name == "postgresql"
            stmt = narrowed(self._postgresql(tokens) if postgresql else self._sqlite(tokens))
            limit = min(limit, MAX_LIMIT)
            if postgresql:
                # A search reads a few hundred rows at most: starting parallel workers (the planner
                # guesses a word matches ~0.1% of a big table) costs more than the whole query.
                s.execute(sql("SET LOCAL max_parallel_workers_per_gather = 0"))
                # Rank among recent tickets first: common words match a large share of a big desk,
                # and ranking all of them is what makes a search slow. Older ones only if needed.
                newest = s.execute(select(func.max(TicketSearch.ticket_id))).scalar() or 0
                first = list(s.scalars(narrowed(self._newest(tokens, newest - FIRST_WINDOW)).limit(limit)))
                if len(first) >= limit or newest <= FIRST_WINDOW:
                    return first
                recent = list(s.scalars(stmt.where(TicketSearch.ticket_id > newest - RECENT_WINDOW).limit(limit)))
                if len(recent) >= limit or newest <= RECENT_WINDOW:
                    return recent
            return list(s.scalars(stmt.limit(limit)))

    @staticmethod
    def _sqlite(tokens: list[str]) -> Select[int]:
        return (select(Ticket.id)
                .select_from(_fts)
                .join(Ticket, Ticket.id == _fts.c.rowid)
                .where(_fts_table.op("MATCH")(_fts5_query(tokens)))
                .order_by(func.bm25(_fts_table, type_=Float), Ticket.id.desc()))

    @staticmethod
    def _newest(tokens: list[str], after_id: int) -> Select[int]:
        """The tickets after `after_id` that match, read in id order: the words are matched against
        coalesce(document, ''), an expression the word index does not cover, so the planner cannot
        answer through it (see FIRST_WINDOW)."""
        document = func.coalesce(literal_column("ticket_search.document"), literal_column("''::tsvector"))
        wanted = func.plainto_tsquery(literal_column("'simple'"), " ".join(tokens))
        return (select(Ticket.id)
                .select_from(TicketSearch)
                .join(Ticket, Ticket.id == TicketSearch.ticket_id)
                .where(TicketSearch.ticket_id > after_id, document.op("@@")(wanted))
                .order_by(func.ts_rank(document, wanted, type_=Float).desc(), Ticket.id.desc()))

    @staticmethod
    def _postgresql(tokens: list[str]) -> Select[int]:
        # `document` is a stored tsvector column (migration 0004) with a GIN index: ranking reads
        # it instead of parsing the text of every matching ticket again.
        document = literal_column("ticket_search.document")
        wanted = func.plainto_tsquery(literal_column("'simple'"), " ".join(tokens))
        return (select(Ticket.id)
                .select_from(TicketSearch)
                .join(Ticket, Ticket.id == TicketSearch.ticket_id)
                .where(document.op("@@")(wanted))
                .order_by(func.ts_rank(document, wanted, type_=Float).desc(), Ticket.id.desc()))
