"""Daily rollups: counters kept by the unit of work that changes the counted rows (ADR 0026).

A report over a million tickets must not scan them. Each domain says what one of its rows adds to
the counters (`Rollup.contribution`: a row's values -> {(day, channel, area, metric): n}); when a
unit of work flushes, the difference between what each changed row added before and what it adds
now goes into `daily_counts`, in the same transaction as the change. So a report reads at most
days x channels x areas x metrics small rows, and a counter can never drift from the rows: what a
row adds is a function of its current values only, and `rebuild` recomputes every counter from the
rows with the same functions (the backfill, the repair, and the test that the two agree).

The hot rows (today's counters) are written once per transaction just before it commits, in one
statement, keys sorted: the row locks are held only for the commit, and always taken in one order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, String, delete, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

# Report days are days in Indonesia (UTC+7 all year: Asia/Jakarta has no daylight saving).
REPORT_OFFSET = timedelta(hours=7)
ANY = "-"  # a dimension a counter does not split by

Key = tuple[date, str, str, str]  # day, channel, area, metric
_PENDING = "gopaycare_rollup_pending"
_COMMITTING = "gopaycare_rollup_committing"


class DailyCount(Base):
    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    area: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def report_day(moment: datetime) -> date:
    return (moment.astimezone(UTC) + REPORT_OFFSET).date()


def day_start(day: date) -> datetime:
    """The UTC moment a report day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - REPORT_OFFSET


Values = Mapping[str, Any]
Contribution = Callable[[Session, Values, bool], Iterable[tuple[Key, int]]]


@dataclass(frozen=True)
class Rollup:
    """What rows of one mapped class add to the counters. `contribution(session, values, before)`
    gets the row's values (`fields` only) as they were before this flush (`before=True`) or as they
    are now; `related` lists extra rows whose contribution changes when this row changes (a ticket's
    area moves its conversations' counters), as (class, ids) pairs."""

    model: type[Any]
    fields: tuple[str, ...]
    contribution: Contribution
    related: Callable[[Session, Any, Values, Values], Iterable[tuple[type[Any], list[int]]]] | None = None
    # For the full recount: a select of the fields (by name) and any value the contribution would
    # otherwise look up row by row (a conversation's area, joined from its ticket).
    recount_select: Callable[[], Any] | None = None


_rollups: dict[type[Any], Rollup] = {}


def register(rollup: Rollup) -> None:
    """Count this class's rows from now on. Its fields load their old value when set (active
    history), so the difference is exact even for a row not read before it was changed."""
    if rollup.model in _rollups:
        return
    _rollups[rollup.model] = rollup
    for name in rollup.fields:
        event.listen(getattr(rollup.model, name), "set", _noop, active_history=True)


def _noop(*_: Any) -> None:
    return None


def _before_value(obj: Any, name: str) -> Any:
    history = inspect(obj).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.added:
        # Set, with nothing before it: the row was inserted without this field (None). A value
        # that was there is always in `deleted` (active history loads it before the set).
        return None
    return getattr(obj, name)


def _values(obj: Any, fields: tuple[str, ...], before: bool) -> dict[str, Any]:
    return {name: _before_value(obj, name) if before else getattr(obj, name) for name in fields}


def add(session: Session, key: Key, n: int) -> None:
    """Count `n` more under `key` in this unit of work (an event that is no row's state)."""
    if n:
        pending: Counter[Key] = session.info.setdefault(_PENDING, Counter())
        pending[key] += n


def _add_all(session: Session, items: Iterable[tuple[Key, int]], sign: int) -> None:
    for key, n in items:
        add(session, key, sign * n)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    if not _rollups:
        return
    with session.no_autoflush:
        session.info["gopaycare_rollup_before"] = befores = {}
        changed: list[tuple[Rollup, Any, dict[str, Any] | None, dict[str, Any] | None]] = []
        for obj in session.new:
            rollup = _rollups.get(type(obj))
            if rollup is not None:
                changed.append((rollup, obj, None, _values(obj, rollup.fields, False)))
        for obj in session.dirty:
            rollup = _rollups.get(type(obj))
            if rollup is not None and session.is_modified(obj):
                old, new = _values(obj, rollup.fields, True), _values(obj, rollup.fields, False)
                if old != new:
                    befores[(type(obj), inspect(obj).identity)] = old
                    changed.append((rollup, obj, old, new))
        for obj in session.deleted:
            rollup = _rollups.get(type(obj))
            if rollup is not None:
                changed.append((rollup, obj, _values(obj, rollup.fields, True), None))
        handled = {(type(obj), id(obj)) for _, obj, _, _ in changed}
        for rollup, _obj, old, new in changed:
            if old is not None:
                _add_all(session, rollup.contribution(session, old, True), -1)
            if new is not None:
                _add_all(session, rollup.contribution(session, new, False), +1)
        # Rows that did not change but count differently because a row they hang on did.
        for rollup, obj, old, new in changed:
            if rollup.related is None or old is None or new is None:
                continue
            for model, ids in rollup.related(session, obj, old, new):
                other = _rollups[model]
                for row_id in ids:
                    row = session.get(model, row_id)
                    if row is None or (model, id(row)) in handled:
                        continue
                    handled.add((model, id(row)))
                    values = _values(row, other.fields, False)
                    _add_all(session, other.contribution(session, values, True), -1)
                    _add_all(session, other.contribution(session, values, False), +1)
        session.info.pop("gopaycare_rollup_before", None)


def before_values(session: Session, model: type[Any], identity: tuple[Any, ...]) -> Mapping[str, Any] | None:
    """During a flush: the values a changed row had before it (for a related row's `before`)."""
    befores: dict[tuple[type[Any], Any], dict[str, Any]] = session.info.get("gopaycare_rollup_before", {})
    return befores.get((model, identity))


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    session.flush()
    write_pending(session)
    session.info[_COMMITTING] = True


@event.listens_for(Session, "after_flush_postexec")
def _write_late(session: Session, _context: Any) -> None:
    # A flush after our commit hook ran (another hook changed rows): write its counts at once.
    if session.info.get(_COMMITTING):
        write_pending(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTING, None)


def write_pending(session: Session) -> None:
    pending: Counter[Key] | None = session.info.pop(_PENDING, None)
    rows = sorted((key, n) for key, n in (pending or {}).items() if n)
    if rows:
        upsert(session, rows)


def upsert(session: Session, rows: list[tuple[Key, int]]) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 1000):
        stmt = insert(DailyCount).values([{"day": d, "channel": c, "area": a, "metric": m, "value": n}
                                          for (d, c, a, m), n in rows[start:start + 1000]])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["day", "channel", "area", "metric"],
            set_={"value": DailyCount.value + stmt.excluded.value}))


# ---------------------------------------------------------------- the full recount


def recount(session: Session, model: type[Any]) -> Counter[Key]:
    """Every counter of `model`'s rows, from the rows themselves (a scan: for rebuilds and tests)."""
    rollup = _rollups[model]
    totals: Counter[Key] = Counter()
    stmt = rollup.recount_select() if rollup.recount_select else select(*(getattr(model, f) for f in rollup.fields))
    for row in _stream(session, stmt):
        for key, n in rollup.contribution(session, row._asdict(), False):
            totals[key] += n
    return totals


def _stream(session: Session, stmt: Any) -> Iterator[Any]:
    yield from session.execute(stmt.execution_options(yield_per=20_000))


def registered() -> tuple[type[Any], ...]:
    return tuple(_rollups)


def rebuild(session: Session, models: Iterable[type[Any]] | None = None, metrics: Iterable[str] | None = None) -> int:
    """Replace the counters of these rows (all that are counted: None) by a full recount, after a
    bulk load or to repair. Counters written by `add` alone (no row behind them) are left as they are
    unless named in `metrics`."""
    totals: Counter[Key] = Counter()
    for model in registered() if models is None else models:
        totals.update(recount(session, model))
    names = {key[3] for key in totals} | set(metrics or ())
    if names:
        session.execute(delete(DailyCount).where(DailyCount.metric.in_(sorted(names))))
    rows = sorted((key, n) for key, n in totals.items() if n)
    upsert(session, rows)
    return len(rows)


def stored(session: Session, metrics: Iterable[str]) -> Counter[Key]:
    """The counters as stored (nonzero), for comparing with `recount`."""
    rows = session.execute(select(DailyCount.day, DailyCount.channel, DailyCount.area, DailyCount.metric,
                                  DailyCount.value).where(DailyCount.metric.in_(sorted(set(metrics)))))
    return Counter({(d, c, a, m): v for d, c, a, m, v in rows if v})
