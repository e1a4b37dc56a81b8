"""Background jobs in scaled mode: the Huey queue in Redis (database 15, flushed around each
test), consumed by the in-process consumer the web app starts or by an explicit dequeue."""

from __future__ import annotations

import signal
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis
from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from gopaycare.container import Services, build
from gopaycare.platform.clock import FakeClock
from gopaycare.platform.jobs import InProcessConsumer, make_huey, start_in_process_consumer
from gopaycare.platform.outbox import DeliveryError, OutboxMessage
from gopaycare.platform.settings import Settings
from gopaycare.web.app import create_app

from .conftest import PASSWORD, PIN, REDIS_URL, need_service

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its TestClient; httpx (already a dependency) still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.redis

PHONE = "+6281234560001"


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    need_service("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def redis_settings(settings: Settings, redis_db: redis.Redis) -> Iterator[Settings]:
    # A queue of its own: test runs sharing this Redis must not take each other's jobs.
    queue = f"gopaycare-test-{uuid.uuid4().hex}"
    yield settings.model_copy(update={"redis_url": REDIS_URL, "jobs_queue": queue})
    for key in redis_db.scan_iter(f"*{queue}*"):
        redis_db.delete(key)


@pytest.fixture
def queued_svc(redis_settings: Settings, clock: FakeClock) -> Iterator[Services]:
    """Services whose jobs go to Redis (not run inline); messages are held (no senders)."""
    services = build(redis_settings, clock=clock, immediate_jobs=False, senders={})
    services.wallet.bootstrap()
    yield services
    services.huey.storage.conn.close()
    services.close()


def _register(services: Services) -> int:
    return services.identity.register(phone=PHONE, name="Queue Test", email="queue@example.com",
                                      password=PASSWORD, pin=PIN, language="en").id


def _statuses(services: Services) -> list[tuple[str, int]]:
    with services.db.read() as s:
        return [(m.status, m.attempts) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        time.sleep(0.05)


# ---------------------------------------------------------------- make_huey


def test_make_huey_picks_the_queue_from_settings(settings, redis_settings):
    # With a Redis URL: a Redis queue on the URL's database
    queued = make_huey(redis_settings)
    assert isinstance(queued, RedisHuey)
    assert queued.immediate is False
    assert queued.storage.conn.connection_pool.connection_kwargs["db"] == 15
    assert queued.storage.conn.ping() is True
    queued.storage.conn.close()

    # Without one: a SQLite file at GOPAYCARE_JOBS_PATH
    embedded = make_huey(settings)
    assert isinstance(embedded, SqliteHuey)
    assert embedded.storage.filename == settings.jobs_path

    # Immediate mode wins over both (unit tests)
    inline = make_huey(redis_settings, immediate=True)
    assert type(inline) is Huey and inline.immediate is True


def test_a_task_is_enqueued_in_redis_and_executed_from_it(redis_settings, redis_db):
    # Given a task on the Redis queue
    huey = make_huey(redis_settings)
    calls: list[tuple[int, int]] = []

    @huey.task()
    def add(a: int, b: int) -> int:
        calls.append((a, b))
        return a + b

    # When it is called
    result = add(2, 3)

    # Then it waits in Redis, not run yet
    assert calls == []
    assert huey.pending_count() == 1
    assert redis_db.dbsize() >= 1

    # When a worker takes it and runs it
    task = huey.dequeue()
    huey.execute(task)

    # Then it ran once, its result is in Redis and the queue is empty
    assert calls == [(2, 3)]
    assert result.get() == 5
    assert huey.pending_count() == 0
    assert huey.dequeue() is None
    huey.storage.conn.close()


# ---------------------------------------------------------------- the delivery job through Redis


def test_a_code_message_waits_in_redis_until_a_worker_delivers_it(queued_svc):
    # Given a customer
    customer = _register(queued_svc)

    # When a code is sent
    queued_svc.identity.send_code(customer, "login", "sms")

    # Then the message is committed as queued, with its delivery job waiting in Redis
    assert _statuses(queued_svc) == [("queued", 0)]
    huey = queued_svc.huey
    assert huey.pending_count() == 1

    # When a worker executes the job
    huey.execute(huey.dequeue())

    # Then the message is delivered (held: no sender is configured) and the queue is empty
    assert _statuses(queued_svc) == [("held", 0)]
    assert huey.pending_count() == 0


def test_the_in_process_consumer_runs_queued_jobs_without_signal_handlers(queued_svc):
    # Given a queued delivery job
    customer = _register(queued_svc)
    queued_svc.identity.send_code(customer, "login", "sms")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    # When the in-process consumer runs for a moment
    consumer = start_in_process_consumer(queued_svc.huey, workers=2)
    try:
        assert isinstance(consumer, InProcessConsumer)
        _wait_for(lambda: _statuses(queued_svc) == [("held", 0)])
    finally:
        consumer.stop(graceful=True)

    # Then the job ran (no delivery left in the queue; the scheduler may have queued periodic jobs
    # if a minute boundary passed) and the process's signal handlers are untouched
    assert [t.name for t in queued_svc.huey.pending() if t.name == "deliver_message"] == []
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers


def test_a_failed_delivery_is_counted_and_retried_later_by_huey(redis_settings, clock):
    # Given an SMS sender that fails, and jobs in Redis
    class Down:
        calls = 0

        def send(self, message: OutboxMessage) -> str | None:
            Down.calls += 1
            raise DeliveryError("SMS provider answered 503")

    services = build(redis_settings, clock=clock, immediate_jobs=False, senders={"sms": Down()})
    try:
        services.wallet.bootstrap()
        customer = _register(services)
        services.identity.send_code(customer, "login", "sms")
        huey = services.huey

        # When a worker runs the delivery job
        huey.execute(huey.dequeue())

        # Then the attempt is recorded (not rolled back) and its retry waits in Redis, due in 30 s (backoff)
        assert _statuses(services) == [("queued", 1)]
        assert Down.calls == 1
        [retry] = [t for t in huey.pending() if t.name == "deliver_message"]
        assert retry.eta is not None
        assert 25 <= (retry.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds() <= 30
    finally:
        services.huey.storage.conn.close()
        services.close()


def test_the_web_app_runs_jobs_in_process_when_asked(queued_svc):
    # Given the app started with its in-process consumer, and a customer
    _register(queued_svc)
    app = create_app(queued_svc, run_jobs_in_process=True)

    with TestClient(app) as client:
        # When the customer asks for a reset code through the API
        response = client.post("/api/v1/auth/reset-codes", json={"login": PHONE, "what": "password"})

        # Then the code's message is delivered by the consumer in the background
        assert response.status_code == 202
        assert response.json()["status"] == "sent_if_registered"
        _wait_for(lambda: _statuses(queued_svc) == [("held", 0)])
        assert client.get("/healthz").json()["jobs"] == "redis"

    # And leaving the app stopped the consumer with nothing left in the queue
    assert queued_svc.huey.pending_count() == 0
