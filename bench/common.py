"""What the benchmark scripts share: their bench databases, COPY, argument parsing, and running
workers together under load."""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

# The PostgreSQL the benchmarks make their databases on (trust auth on this machine).
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback (for a server the script starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_gopaycare(env: dict[str, str], processes: int, *, redis_url: str,
                    workers: int) -> tuple[list[int], list[subprocess.Popen[bytes]]]:
    """`processes` `gopaycare serve` processes on free loopback ports (their ports, and every process
    started). One runs its jobs itself (the embedded default); several share Redis for the hub and
    the jobs, taken by as many `gopaycare worker` processes."""
    env = dict(env)
    env.pop("GOPAYCARE_REDIS_URL", None)
    # The benches seed in-process with the settings' default key and serve the same database: a bench
    # machine is a development machine, so `serve` may use the development key here.
    env.setdefault("GOPAYCARE_ALLOW_DEV_SECRET_KEY", "true")
    if processes > 1:
        env.update(GOPAYCARE_REDIS_URL=redis_url, GOPAYCARE_JOBS_QUEUE=f"bench-{uuid.uuid4().hex}")
    gopaycare = str(Path(sys.executable).with_name("gopaycare"))
    ports = [free_port() for _ in range(processes)]
    started = [spawn([gopaycare, "serve", "--host", "127.0.0.1", "--port", str(port)], env) for port in ports]
    if processes > 1:
        started += [spawn([gopaycare, "worker", "--workers", str(workers)], env) for _ in range(processes)]
    return ports, started


def stop_all(started: list[subprocess.Popen[bytes]]) -> None:
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # sockets still draining: the run is over anyway
            process.kill()
            process.wait(timeout=30)


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


def migrated_database(admin: Engine, admin_url: str, name: str) -> str:
    """A new, empty database `name` migrated to the newest schema; its URL."""
    from gopaycare.migrations import upgrade

    recreate_database(admin, name)
    url = database_url(admin_url, name)
    upgrade(url)
    return url


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


@dataclass
class WorkerOutcome:
    """What one load worker did: the latency of each success, its failures by kind, when it stopped."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    finished: float = 0.0


@dataclass
class LoadResult:
    workers: int
    seconds: float
    done: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        return percentile(self.latencies_ms, q)


def run_together(workers: int, work: Callable[[int], WorkerOutcome]) -> LoadResult:
    """`workers` threads start at one moment (a barrier) and each runs `work(index)`; the run lasts
    from the start until the last one finishes."""
    start_line = threading.Barrier(workers + 1)
    outcomes: list[WorkerOutcome] = []  # list.append is atomic under the GIL

    def worker(index: int) -> None:
        start_line.wait()
        outcomes.append(work(index))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result = LoadResult(workers, max(o.finished for o in outcomes) - began)
    failures: Counter[str] = Counter()
    for outcome in outcomes:
        result.latencies_ms.extend(outcome.latencies_ms)
        failures.update(outcome.failures)
    result.done = len(result.latencies_ms)
    result.failures = dict(failures)
    return result
