"""Background jobs on Huey.

Embedded mode keeps the queue in a SQLite file and runs the consumer as threads inside the web
process; with GOPAYCARE_REDIS_URL set the queue lives in Redis and `gopaycare worker` processes
consume it. Unit tests use immediate mode (tasks run inline, after the enqueuing transaction
commits, because tasks are only ever enqueued from on-commit hooks).
"""

from __future__ import annotations

import logging

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from .settings import Settings

log = logging.getLogger(__name__)


class WalStorage(SqliteStorage):
    """The embedded queue's SQLite file as durable as the application's own (platform/db.py): WAL with
    synchronous=NORMAL, safe from a crash of the process and from corruption. Huey's default (FULL)
    waits for the disk on every enqueue: an fsync for each reply a customer's turn queues."""

    def _create_connection(self):  # type: ignore[no-untyped-def]
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    if immediate:
        return Huey(settings.jobs_queue, immediate=True)
    if settings.redis_url:
        return RedisHuey(settings.jobs_queue, url=settings.redis_url)
    return SqliteHuey(settings.jobs_queue, filename=settings.jobs_path, storage_class=WalStorage)


class InProcessConsumer(Consumer):
    """A consumer that runs beside the web server: threads only, no signal handlers
    (those belong to the main thread, which uvicorn owns)."""

    def _set_signal_handlers(self) -> None:
        return None


# Huey's idle workers poll a SQLite queue ever more slowly (up to 10 s by default): a chat reply queued
# after a quiet minute would wait that long. A local SQLite file is cheap to poll, so keep it short.
MAX_POLL_SECONDS = 0.25


def start_in_process_consumer(huey: Huey, workers: int = 2) -> InProcessConsumer:
    consumer = InProcessConsumer(huey, workers=workers, worker_type="thread", periodic=True,
                                 max_delay=MAX_POLL_SECONDS)
    consumer.start()
    log.info("in-process job consumer started", extra={"workers": workers})
    return consumer
