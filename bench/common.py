"""What the benchmark scripts share: their bench databases, COPY, and argument parsing."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url


def positive_counts(value: str) -> list[int]:
    """argparse type for "8,32": comma-separated positive integers."""
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 8,32") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("counts must be positive")
    return counts


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def recreate_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def checkpoint(admin: Engine) -> None:
    """Flush dirty pages before each measured run, so no run pays for the previous one's writes."""
    with admin.connect() as conn:
        conn.execute(text("CHECKPOINT"))


def copy_rows(conn: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL COPY through the connection's psycopg driver connection."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (1..99) of latencies; NaN when there are none."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
