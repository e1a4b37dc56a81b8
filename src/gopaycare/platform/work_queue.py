"""Rows worked off by jobs, at least once: the outbox's messages and the channels' events.

Such a row is `queued` until a worker finishes it. A worker claims it for a while (`claim`: one
conditional UPDATE, so two workers never both hold it, and no row lock is kept while it works), then
records the outcome in a second short transaction. A failure that may pass waits `backoff` (doubling
from the first delay), up to a number of attempts; a worker that dies leaves the claim to expire and
the periodic sweep (`due_ids`) takes the row again, as it does a row whose own job was lost.

The table needs `id`, `status`, `attempts`, `claimed_until` and `next_attempt_at` columns, and a
column for when the row was made (`created`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session


def claim(s: Session, table: Any, row_id: int, now: datetime, *, seconds: int) -> bool:
    """Claim a queued row that is due and free; counts the attempt. False: not ours to work now."""
    return bool(s.execute(
        update(table)
        .where(table.id == row_id, table.status == "queued", claim_free(table, now),
               or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now))
        .values(claimed_until=now + timedelta(seconds=seconds), attempts=table.attempts + 1)
    ).rowcount)


def claim_free(table: Any, now: datetime) -> Any:
    return or_(table.claimed_until.is_(None), table.claimed_until <= now)


def backoff(first_delay: int, attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: first_delay · 2^(attempts-1)."""
    return first_delay * 2 ** (attempts - 1)


def due_ids(s: Session, table: Any, created: Any, now: datetime, *, lost_after: int, limit: int) -> list[int]:
    """Queued rows to work now: their backoff is over, or their own job was lost (never tried and
    older than `lost_after` seconds)."""
    lost = now - timedelta(seconds=lost_after)
    return list(s.scalars(select(table.id).where(
        table.status == "queued", claim_free(table, now),
        or_(table.next_attempt_at <= now, and_(table.next_attempt_at.is_(None), created < lost)))
        .order_by(table.id).limit(limit)))
