"""The embedded job consumer (the one `serve` runs beside the app without Redis)."""

from __future__ import annotations

from huey import SqliteHuey

from gopaycare.platform.jobs import MAX_POLL_SECONDS, start_in_process_consumer


def test_idle_workers_look_at_the_queue_often_so_a_chat_reply_does_not_wait(tmp_path):
    # Huey's default lets an idle worker sleep up to 10 s between looks: a bot reply queued after a
    # quiet spell waited that long before the chat showed it (measured: 1.0-1.8 s after 12 s idle).
    consumer = start_in_process_consumer(SqliteHuey("jobs", filename=str(tmp_path / "jobs.db")), workers=1)
    try:
        assert MAX_POLL_SECONDS <= 0.5
        assert consumer.max_delay == MAX_POLL_SECONDS
        assert all(worker.max_delay == MAX_POLL_SECONDS for worker, _ in consumer.worker_threads)
    finally:
        consumer.stop(graceful=True)
