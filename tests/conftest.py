"""Test fixtures: every database test runs on SQLite and on real PostgreSQL.

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) tests are skipped with a visible reason
when the server does not answer, unless GOPAYCARE_REQUIRE_SERVICES=1 (set by .ci/run), which
turns a missing server into a failure. Jobs run eagerly; argon2 runs at its cheapest cost.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gopaycare.container import Services, build
from gopaycare.migrations import upgrade
from gopaycare.models import metadata
from gopaycare.platform.clock import FakeClock
from gopaycare.platform.settings import Settings, load_settings

PG_ADMIN_URL = os.environ.get("GOPAYCARE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GOPAYCARE_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("GOPAYCARE_REQUIRE_SERVICES") == "1"
# Wednesday 25 November 2026, 10:00 in Jakarta (03:00 UTC).
START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
# Every table but the event sequence, whose single row is reset instead of removed.
TABLES = [t.name for t in metadata.sorted_tables if t.name != "desk_event_sequence"]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    if _answers(host, port):
        return
    message = f"{name} does not answer on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and GOPAYCARE_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"gopaycare_test_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
        # No waiting for the WAL flush at each commit: a test database need not survive a server crash
        # (the crash tests kill our processes, not PostgreSQL), and the suite commits tens of thousands of times.
        conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_emptier(pg_database: str) -> Iterator[Callable[[], None]]:
    """Empties the test database between tests as TRUNCATE ... RESTART IDENTITY would, with DELETE: a test
    leaves a handful of rows, and TRUNCATE of every table (new files for each, and their fsync) cost
    0.4-2 s per test where DELETE costs ~15 ms. Foreign keys are not checked while emptying (replica role;
    the tests connect as the superuser), so the order of the tables does not matter."""
    engine = create_engine(pg_database, poolclass=NullPool)
    with engine.connect() as conn:
        sequences = conn.execute(text(
            "SELECT s.oid::regclass::text FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
            "JOIN pg_class t ON d.refobjid = t.oid WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"),
            {"tables": TABLES}).scalars().all()
    script = ";".join(["SET LOCAL session_replication_role = replica",
                       *(f"DELETE FROM {table}" for table in TABLES),
                       *(f"SELECT setval('{sequence}', 1, false)" for sequence in sequences),
                       "UPDATE desk_event_sequence SET last_id = 0"])

    def empty() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(script)

    yield empty
    engine.dispose()


def _database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    request.getfixturevalue("pg_emptier")()
    return request.getfixturevalue("pg_database")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=_database_url(backend, request, tmp_path), password_hash_profile="fast",
        secret_key="test-secret", jobs_path=str(tmp_path / "jobs.db"), log_json=False,
    )


@pytest.fixture
def svc(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    services = build(settings, clock=clock, immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    yield services
    services.close()


PASSWORD = "Secret-pass1"
PIN = "258147"


@pytest.fixture
def make_customer(svc: Services) -> Callable[..., int]:
    """Builder: a registered customer with a wallet and (optionally) a starting balance."""
    counter = iter(range(1, 10_000))

    def build_customer(*, tier: str = "basic", balance: int = 0, name: str | None = None,
                       email: bool = True, language: str = "en", **kw: Any) -> int:
        n = next(counter)
        view = svc.identity.register(
            phone=kw.pop("phone", f"+6281{n:09d}"), name=name or f"Customer {n}",
            email=f"customer{n}@example.com" if email else None, id_number=kw.pop("id_number", f"31710{n:011d}"),
            password=PASSWORD, pin=PIN, language=language, tier=tier, **kw)
        if balance:
            svc.wallet.topup(view.id, balance, "card", f"setup-{view.id}")
        return view.id

    return build_customer


@pytest.fixture
def make_merchant(svc: Services) -> Callable[..., int]:
    def build_merchant(name: str = "Warung Test", category: str = "food", status: str = "active") -> int:
        return svc.wallet.add_merchant(name, category, status=status)

    return build_merchant


def ledger_snapshot(svc: Services) -> dict[str, Any]:
    """Everything a rejected action must leave unchanged."""
    with svc.db.read() as s:
        return {
            "accounts": s.execute(text("SELECT id, balance, locked, frozen, out_day_total, in_month_total "
                                       "FROM ledger_accounts ORDER BY id")).all(),
            "transactions": s.execute(text("SELECT id, status, refunded_amount FROM wallet_transactions "
                                           "ORDER BY id")).all(),
            "transfers": s.execute(text("SELECT COUNT(*) FROM ledger_transfers")).scalar_one(),
        }


@pytest.fixture
def client(svc: Services) -> Iterator[Any]:
    """The HTTP API on these services, through FastAPI's TestClient."""
    from tests.helpers import api_client

    with api_client(svc) as test_client:
        yield test_client


# ---------------------------------------------------------------- assistant


_TRAINER = pytest.StashKey[subprocess.Popen]()


def _model_cache(run_dir: Path) -> str:
    """GOPAYCARE_TEST_MODEL_DIR; else a cache that outlives the run, in the user's cache directory, one per
    version of the NLU's code (a change to the engine is a new model, whatever its version says). In it
    `load_product_nlu` keeps the model under the fingerprint of its training data, configuration and
    packages: the suite trains once when those change, not on every run (~20 s of CPU on two cores).
    Without a writable cache directory: the run's temporary directory (trained once per run)."""
    if os.environ.get("GOPAYCARE_TEST_MODEL_DIR"):
        return os.environ["GOPAYCARE_TEST_MODEL_DIR"]
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("gopaycare.assistant.nlu")  # its files, without loading its libraries
    code = hashlib.sha256()
    for path in sorted(Path(spec.origin if spec and spec.origin else __file__).parent.glob("*.py")):
        code.update(path.name.encode() + b"\0" + path.read_bytes())
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = home / "gopaycare" / "test-nlu" / code.hexdigest()[:16]
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return str(run_dir / "product-model")
    return str(cache)


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin is configured
def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist the controller runs no test: it trains the product model meanwhile (unless the
    cache has it already), in a process of its own, into the directory every worker's `product_nlu` looks
    in (`_model_cache`).
    The trainer holds the cache's file lock, so a worker that needs the model sooner waits for it instead
    of training a copy of its own (~20 s of CPU apiece)."""
    if hasattr(config, "workerinput") or config.getoption("dist", "no") == "no" or config.option.collectonly:
        return
    cache = _model_cache(config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]
    config.stash[_TRAINER] = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gopaycare.assistant.nlu.product import ensure_product_nlu; "
                               "ensure_product_nlu(sys.argv[1])", cache],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest_unconfigure(config: pytest.Config) -> None:
    trainer = config.stash.get(_TRAINER, None)
    if trainer is not None and trainer.poll() is None:
        trainer.terminate()  # a run that needed no model (the model is saved whole or not at all)
        trainer.wait()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the trained model last (stable otherwise), so that in a parallel run the workers
    do the rest while the controller trains it."""
    items.sort(key=lambda item: "product_nlu" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def product_model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where this run keeps the product model (shared by every xdist worker, and by the server
    processes a test starts)."""
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent  # <run>/popen-gwN is the worker's own, <run> the controller's
    return _model_cache(run_dir)


@pytest.fixture(scope="session")
def product_nlu(product_model_dir: str) -> Any:
    """The product model, loaded once per worker from the cache (`_model_cache`), trained only when the
    cache has none for this data and code; under pytest-xdist, trained once for all the workers (above)."""
    from gopaycare.assistant.nlu import load_product_nlu

    return load_product_nlu(product_model_dir)


@pytest.fixture
def bot(svc: Services, product_nlu: Any) -> Any:
    return svc.make_assistant(product_nlu)


# ---------------------------------------------------------------- help desk


@pytest.fixture
def supervisor(svc):
    """A supervisor's view of the desk (sees every ticket)."""
    return svc.desk.viewer(svc.agents.create("lead@gopay.test", "supervisor"))


@pytest.fixture
def agent(svc):
    """An ordinary agent's view of the desk."""
    return svc.desk.viewer(svc.agents.create("ayu@gopay.test", "agent"))


@pytest.fixture
def dispatched(svc) -> list[tuple[int, bool]]:
    """Desk messages handed to delivery (through the outbox), each with whether it was committed
    by then: by a job after the commit, or (the chat's sender) released in the unit of work that
    stores it, counted when that commits."""
    from gopaycare.desk.models import Message
    from gopaycare.platform.db import on_commit
    from gopaycare.platform.outbox import OutboxMessage

    sent: list[tuple[int, bool]] = []
    deliver, release = svc.outbox.dispatch, svc.outbox._release

    def committed(message_id: int) -> bool:
        with svc.db.read() as s:
            return s.get(Message, message_id) is not None

    def dispatch(outbox_id: int) -> None:
        with svc.db.read() as s:
            row = s.get(OutboxMessage, outbox_id)
            source = row.source_id if row is not None and row.source_type == "message" else None
        if source is not None:
            sent.append((source, committed(source)))
        deliver(outbox_id)

    def release_in(s, row, sender, now) -> None:  # noqa: ANN001 - the outbox's own arguments
        release(s, row, sender, now)
        if row.source_type == "message":
            source = row.source_id
            on_commit(s, lambda: sent.append((source, committed(source))))

    svc.outbox.dispatch = dispatch
    svc.outbox._release = release_in
    return sent


# ---------------------------------------------------------------- conversation suite


_CONVERSATION_RESULTS = pytest.StashKey[list]()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The conversation suite's results by language (user properties travel from xdist workers)."""
    lang = dict(report.user_properties).get("conversation_lang")
    if lang is None or (report.when != "call" and report.passed):
        return
    if report.when == "call" or report.failed:
        config = _CONFIG.get("config")
        if config is not None:
            config.stash.setdefault(_CONVERSATION_RESULTS, []).append((lang, report.passed))


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(_CONVERSATION_RESULTS, [])
    if results:
        from tests.conversation_runner import format_rates, pass_rates

        terminalreporter.write_line(format_rates(pass_rates(results)))
