"""The `gopaycare` command, run in-process with click's CliRunner against SQLite and PostgreSQL.

Settings come only from the GOPAYCARE_* variables given to each run: the working directory is a
fresh temporary one (no stray .env) and any GOPAYCARE_ setting already in the environment is
removed first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, text

from gopaycare.cli import main
from gopaycare.container import Services, build
from gopaycare.disputes.verify import CHECKS as DISPUTE_CHECKS
from gopaycare.identity.models import Customer
from gopaycare.platform.errors import Unauthenticated
from gopaycare.platform.outbox import OutboxMessage
from gopaycare.platform.settings import Settings
from gopaycare.wallet.verify import CHECKS, EXTRA_CHECKS

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"GOPAYCARE_{name.upper()}", raising=False)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"GOPAYCARE_DATABASE_URL": database_url, "GOPAYCARE_JOBS_PATH": str(tmp_path / "jobs.db"),
            "GOPAYCARE_PASSWORD_HASH_PROFILE": "fast", "GOPAYCARE_LOG_JSON": "false", **extra}


def _runner(env: dict[str, str]) -> Run:
    runner = CliRunner()

    def run(*args: str, **extra_env: str) -> Result:
        return runner.invoke(main, list(args), env={**env, **extra_env}, catch_exceptions=False)

    return run


@pytest.fixture
def run(settings: Settings, tmp_path: Path) -> Run:
    """The CLI on this test's database (a migrated SQLite copy, or a truncated PostgreSQL one)."""
    # The same secret key as `services` below, so tokens the CLI prints hash the same way.
    return _runner(_env(settings.database_url, tmp_path, GOPAYCARE_SECRET_KEY=settings.secret_key))


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services on the same database, to check what the commands did."""
    built = build(settings, immediate_jobs=True, senders={})
    yield built
    built.close()


def _count(services: Services, table: str) -> int:
    with services.db.read() as s:
        return s.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


# ---------------------------------------------------------------- migrate


def test_migrate_creates_the_schema_in_an_empty_sqlite_file(tmp_path):
    # Given a path where no database exists yet
    path = tmp_path / "fresh.db"
    run = _runner(_env(f"sqlite:///{path}", tmp_path))

    # When it is migrated, twice
    first = run("migrate")
    second = run("migrate")

    # Then the schema and the platform accounts exist, and the second run changes nothing
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"migrating sqlite:///{path} ...")
    assert first.output.rstrip().endswith("database is up to date")
    assert second.exit_code == 0, second.output
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            codes = conn.execute(text("SELECT code FROM ledger_accounts WHERE kind = 'platform' ORDER BY code"))
            assert [c for (c,) in codes] == ["platform:cashback", "platform:disputes", "platform:fees",
                                             "platform:float", "platform:settlement", "platform:suspense"]
            assert conn.execute(text("SELECT COUNT(*) FROM customers")).scalar_one() == 0
    finally:
        engine.dispose()


def test_migrate_on_an_existing_database_keeps_its_data(run, services, backend):
    # Given a database with an agent
    services.agents.create("keep@b.test", "agent")

    # When it is migrated again
    result = run("migrate")

    # Then it is up to date and the agent is still there
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output
    assert services.agents.get_by_email("keep@b.test").role == "agent"


# ---------------------------------------------------------------- agents and tokens


def test_create_an_agent_then_a_token_that_authenticates(run, services):
    # When an agent is created and given a token
    created = run("agents", "create", "A@B.test", "--role", "supervisor", "--name", "Hendra")
    token_run = run("tokens", "create", "a@b.test")

    # Then the agent exists with the role, and the printed token authenticates as them
    assert created.exit_code == 0, created.output
    agent = services.agents.get_by_email("a@b.test")
    assert created.output == f"agent {agent.id} a@b.test (supervisor)\n"
    assert (agent.name, agent.role) == ("Hendra", "supervisor")
    assert token_run.exit_code == 0, token_run.output
    token = token_run.output.strip()
    assert re.fullmatch(r"gpc_[A-Za-z0-9_-]{20,}", token)
    assert services.agents.authenticate(token) == agent
    assert agent.can("pii.reveal")
    # And only its hash is stored
    with services.db.read() as s:
        stored = s.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert len(stored) == 1 and token not in stored[0]


def test_each_token_is_new(run, services):
    run("agents", "create", "a@b.test", "--role", "agent")

    first = run("tokens", "create", "a@b.test").output.strip()
    second = run("tokens", "create", "a@b.test").output.strip()

    assert first != second
    assert services.agents.authenticate(first) == services.agents.authenticate(second)


def test_an_agent_with_a_password(run, services):
    result = run("agents", "create", "pw@b.test", "--role", "admin", "--password", "long-enough-1")

    assert result.exit_code == 0, result.output
    with services.db.read() as s:
        stored = s.execute(text("SELECT password_hash FROM agents WHERE email = 'pw@b.test'")).scalar_one()
    assert stored.startswith("$argon2")


def test_a_duplicate_agent_is_refused_and_changes_nothing(run, services):
    # Given an agent
    run("agents", "create", "a@b.test", "--role", "agent")

    # When the same email (in another case) is created again with another role
    result = run("agents", "create", "A@b.TEST", "--role", "admin")

    # Then the command fails saying why, and the first agent is unchanged
    assert result.exit_code == 1
    assert result.output == "Error: an agent with this email exists\n"
    assert services.agents.get_by_email("a@b.test").role == "agent"
    assert _count(services, "agents") == 1


@pytest.mark.parametrize("args, message", [
    (("agents", "create", "a@b.test", "--role", "boss"), "Invalid value for '--role'"),
    (("agents", "create", "a@b.test"), "Missing option '--role'"),
    (("agents", "create", "not-an-email", "--role", "agent"), "Error: not an email address"),
])
def test_invalid_agent_arguments_are_refused(run, services, args, message):
    result = run(*args)

    assert result.exit_code != 0
    assert message in result.output
    assert _count(services, "agents") == 0


def test_a_token_for_an_unknown_agent_is_refused(run, services):
    result = run("tokens", "create", "ghost@b.test")

    assert result.exit_code == 1
    assert result.output == "Error: no agent with this email\n"
    assert _count(services, "api_tokens") == 0


def test_a_garbage_token_does_not_authenticate(services):
    with pytest.raises(Unauthenticated):
        services.agents.authenticate("gpc_not-a-real-token")


# ---------------------------------------------------------------- demo and ledger verify


@pytest.fixture
def demo(run: Run) -> Result:
    result = run("demo", "--no-serve", "--customers", "50")
    assert result.exit_code == 0, result.output
    return result


def test_demo_seeds_eleven_story_and_thirty_nine_bulk_customers_once(demo, run, services):
    # Then the summary says what was seeded, with the demo credentials
    assert "seeded 11 demo customers and 39 bulk customers." in demo.output
    assert "agents: agent@gopay.test, supervisor@gopay.test, admin@gopay.test" in demo.output
    assert _count(services, "customers") == 50
    with services.db.read() as s:
        story = s.execute(select(func.count()).select_from(Customer)
                          .where(Customer.phone.in_(["+6281234567890", "+6281298765432"]))).scalar_one()
    assert story == 2
    assert services.agents.get_by_email("supervisor@gopay.test").role == "supervisor"
    transactions = _count(services, "wallet_transactions")

    # When the demo runs again
    again = run("demo", "--no-serve", "--customers", "50")

    # Then it does not seed a second time
    assert again.exit_code == 0, again.output
    assert "database already has 50 customers; not seeding" in again.output
    assert _count(services, "customers") == 50
    assert _count(services, "wallet_transactions") == transactions


def test_demo_reset_empties_the_database_and_seeds_it_again(demo, run, services):
    # Given the demo, plus a customer someone registered while trying it
    services.identity.register(phone="+6281234560001", name="Try", password="Secret-pass1", pin="258147",
                               language="en")
    assert _count(services, "customers") == 51

    # When the demo is reset (SQLite: a new file, so this test's pooled connections are let go)
    result = run("demo", "--no-serve", "--reset", "--customers", "50")
    services.db.dispose()

    # Then it starts over from an empty database: the demo's 50 customers again, the extra one gone
    assert result.exit_code == 0, result.output
    assert result.output.startswith("resetting ")
    assert "seeded 11 demo customers and 39 bulk customers." in result.output
    assert _count(services, "customers") == 50
    with services.db.read() as s:
        assert s.execute(select(Customer).where(Customer.phone == "+6281234560001")).first() is None
    assert run("ledger", "verify").exit_code == 0


def test_ledger_verify_passes_on_the_demo(demo, run):
    result = run("ledger", "verify")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(r"ledger_accounts=\d+  ledger_transfers=\d+  wallet_transactions=\d+", lines[0])
    assert lines[1:] == [f"ok   {name}" for name in [*CHECKS, *(extra for extra, _ in EXTRA_CHECKS), *DISPUTE_CHECKS]]
    assert "ok   refunds_paid_match_requests" in lines and "ok   clawbacks_consistent" in lines


def test_ledger_verify_fails_naming_the_check_after_a_balance_is_corrupted(demo, run, services):
    # Given a wallet whose cached balance no longer matches its entries
    with services.db.transaction() as s:
        account_id, code = s.execute(text("SELECT id, code FROM ledger_accounts WHERE kind = 'wallet' "
                                          "AND balance > 0 ORDER BY id LIMIT 1")).one()
        s.execute(text("UPDATE ledger_accounts SET balance = balance + 1000 WHERE id = :id"), {"id": account_id})

    # When the ledger is verified, as text and as JSON
    result = run("ledger", "verify")
    as_json = run("ledger", "verify", "--json")

    # Then both exit 1 and name only the broken check and the wallet
    assert result.exit_code == 1
    assert "FAIL cached_balance_matches_entries" in result.output
    assert code in result.output
    for name in CHECKS:
        if name != "cached_balance_matches_entries":
            assert f"ok   {name}" in result.output
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False
    assert list(report["violations"]) == ["cached_balance_matches_entries"]
    [row] = report["violations"]["cached_balance_matches_entries"]
    assert (row["id"], row["code"], row["balance"] - row["from_entries"]) == (account_id, code, 1000)


def test_ledger_verify_on_an_empty_database_passes(run):
    result = run("ledger", "verify", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["violations"] == {}
    assert report["counts"]["ledger_transfers"] == 0


def test_outbox_shows_the_latest_messages(run, services):
    # Given a customer who asked for a code (no sender configured: the message is held)
    customer = services.identity.register(phone="+6281234560001", name="Test", password="Secret-pass1",
                                          pin="258147", language="en")
    services.identity.send_code(customer.id, "login", "sms")
    with services.db.read() as s:
        body = s.execute(select(OutboxMessage.body)).scalar_one()

    # When the outbox is listed, for that phone and for another
    mine = run("outbox", "--to", "+6281234560001")
    other = run("outbox", "--to", "+6281299990000")

    # Then the held message is shown with its code; for the other phone, a line saying there is none
    assert mine.exit_code == 0, mine.output
    assert re.fullmatch(r"#1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d sms -> \+6281234560001 \[held\] (.*)\n", mine.output)
    assert mine.output.rstrip("\n").endswith(body)
    assert other.exit_code == 0 and other.output == "no outgoing messages to +6281299990000\n"


def test_an_empty_outbox_says_so(run):
    result = run("outbox")

    assert result.exit_code == 0
    assert result.output == "no outgoing messages\n"


def test_reseal_secrets_seals_the_channel_accounts_again_under_the_new_key(run, services):
    from gopaycare.platform.audit import Actor

    services.channel_accounts.create(actor=Actor.system(), provider="telegram", name="care-bot",
                                     external_id="7000000001",
                                     secrets={"bot_token": "7000000001:AAH-token", "secret_token": "tg-secret"})
    old_key = services.channel_accounts.list()[0].key_id

    resealed = run("reseal-secrets", GOPAYCARE_SECRET_KEY="the-new-secret",
                   GOPAYCARE_PREVIOUS_SECRET_KEYS=json.dumps([services.settings.secret_key]))
    again = run("reseal-secrets", GOPAYCARE_SECRET_KEY="the-new-secret")

    assert (resealed.exit_code, resealed.output) == (0, "1 channel account(s) sealed again\n")
    assert again.output == "0 channel account(s) sealed again\n"
    [info] = services.channel_accounts.list()
    assert info.key_id != old_key and not any(info.secrets_set.values())  # the old key opens it no more


# ---------------------------------------------------------------- invalid settings


@pytest.mark.parametrize("variable, value, message", [
    ("GOPAYCARE_MAX_FAILED_LOGINS", "0", "GOPAYCARE_MAX_FAILED_LOGINS: Input should be greater than or equal to 1"),
    ("GOPAYCARE_TIMEZONE", "Mars/Base", "GOPAYCARE_TIMEZONE: Value error, unknown time zone 'Mars/Base'"),
    ("GOPAYCARE_DATABASE_URL", "mysql://db/gopay", "GOPAYCARE_DATABASE_URL: Value error, must be a sqlite:/// or"),
    ("GOPAYCARE_LOG_LEVEL", "LOUD", "GOPAYCARE_LOG_LEVEL: String should match pattern"),
    ("GOPAYCARE_LIMITS__BASIC__BALANCE_CAP", "0", "GOPAYCARE_LIMITS__BASIC__BALANCE_CAP: Input should be greater"),
    ("GOPAYCARE_CURRENCY", "XYZ", "GOPAYCARE_CURRENCY: Value error, the ledger keeps amounts in IDR only, not 'XYZ'"),
    ("GOPAYCARE_CURRENCY", "usd", "GOPAYCARE_CURRENCY: Value error, the ledger keeps amounts in IDR only, not 'usd'"),
])
@pytest.mark.parametrize("command", [("migrate",), ("ledger", "verify"), ("agents", "create", "a@b.test", "--role",
                                                                            "agent")])
def test_invalid_settings_stop_every_command_naming_the_variable(tmp_path, command, variable, value, message):
    # Given an empty SQLite path and one invalid setting
    path = tmp_path / "never.db"
    run = _runner(_env(f"sqlite:///{path}", tmp_path, **{variable: value}))

    # When a command runs
    result = run(*command)

    # Then it stops before touching anything, with a message naming the variable
    assert result.exit_code == 1
    assert result.output.startswith("Error: Invalid settings:\n")
    assert message in result.output
    assert not path.exists()


def test_settings_from_a_dotenv_file_in_the_working_directory(tmp_path):
    # Given a .env file with an invalid value in the working directory
    Path(".env").write_text("GOPAYCARE_MAX_FAILED_LOGINS=0\n", encoding="utf-8")
    run = _runner(_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))

    # When a command runs
    result = run("migrate")

    # Then the .env value was read (and refused)
    assert result.exit_code == 1
    assert "GOPAYCARE_MAX_FAILED_LOGINS" in result.output


def test_worker_needs_redis(run):
    result = run("worker")

    assert result.exit_code == 1
    assert result.output == ("Error: GOPAYCARE_REDIS_URL is not set: in embedded mode `serve` runs the jobs "
                             "itself\n")


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])

    assert result.exit_code == 0
    for command in ("migrate", "serve", "demo", "worker", "ledger", "agents", "tokens", "outbox"):
        assert re.search(rf"^\s+{command}\s", result.output, re.MULTILINE), command



def test_a_merchant_key_is_made_for_a_known_merchant_only(run, services):
    merchant = services.wallet.add_merchant("Toko CLI", "food")

    made = run("merchants", "key", str(merchant), "--label", "shop till")
    unknown = run("merchants", "key", "999999")

    assert made.exit_code == 0 and made.output.startswith("gpm_")
    assert services.merchant_keys.authenticate(made.output.strip()) == merchant
    assert unknown.exit_code == 1 and "merchant not found" in unknown.output


@pytest.mark.parametrize("backend", ["sqlite"])  # the command, not the engine, is tested
def test_revoking_a_merchant_key_refuses_it_and_ends_its_page_sessions_only(run, services):
    merchant = services.wallet.add_merchant("Toko Bocor", "food")
    other = services.wallet.add_merchant("Toko Aman", "food")
    leaked = services.merchant_keys.create(merchant, label="leaked till")
    kept = services.merchant_keys.create(merchant, label="back office")
    others = services.merchant_keys.create(other)
    _, session = services.merchant_keys.sign_in(leaked)
    _, kept_session = services.merchant_keys.sign_in(kept)
    leaked_id = int(session.split(".")[0])

    listed = run("merchants", "keys", str(merchant))
    assert listed.exit_code == 0 and f"#{leaked_id}" in listed.output and "leaked till" in listed.output
    assert "gpm_" not in listed.output and listed.output.count("active") == 2

    revoked = run("merchants", "revoke", str(leaked_id))
    assert revoked.exit_code == 0 and f"#{leaked_id}" in revoked.output, revoked.output
    with pytest.raises(Unauthenticated):
        services.merchant_keys.authenticate(leaked)
    with pytest.raises(Unauthenticated):  # what the merchant page checks on each request (web/pages/merchant.py)
        services.merchant_keys.session(session)
    # The merchant's other key and its session, and another merchant's key, go on.
    assert services.merchant_keys.authenticate(kept) == merchant == services.merchant_keys.session(kept_session)
    assert services.merchant_keys.authenticate(others) == other
    first = [k.revoked_at for k in services.merchant_keys.of_merchant(merchant)]
    assert "revoked" in run("merchants", "keys", str(merchant)).output

    again, unknown, huge = run("merchants", "revoke", str(leaked_id)), run("merchants", "revoke", "999999"), \
        run("merchants", "revoke", str(2**64))
    assert (again.exit_code, unknown.exit_code, huge.exit_code) == (1, 1, 2)
    assert "already revoked" in again.output and "no such merchant key" in unknown.output
    assert [k.revoked_at for k in services.merchant_keys.of_merchant(merchant)] == first  # nothing changed
    assert run("merchants", "keys", "999999").exit_code == 1
