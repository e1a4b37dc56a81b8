"""`gopaycare demo --reset`: start the demo over from an empty database.

SQLite: the database file is removed (the migrations then build a new one). PostgreSQL: every GoPay Care
table is truncated, the schema kept. Rows are never deleted one by one: the ledger journal and the audit
log refuse DELETE (append-only triggers), and that guard stays in place.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from ..migrations import upgrade
from ..models import metadata

# Its single row is the desk's event counter: reset, not removed.
_SEQUENCE = "desk_event_sequence"


def reset_database(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(url.database + suffix).unlink(missing_ok=True)
        return
    upgrade(database_url)
    engine = create_engine(url)
    try:
        tables = ", ".join(t.name for t in metadata.sorted_tables if t.name != _SEQUENCE)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            conn.execute(text(f"UPDATE {_SEQUENCE} SET last_id = 0"))
    finally:
        engine.dispose()
