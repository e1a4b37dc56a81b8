"""The `gopaycare` command."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import click

from .platform.logging import configure_logging
from .platform.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _services(settings: Settings) -> Any:
    from .container import build

    services = build(settings)
    # Release the database connections when the command ends, however it ends: most commands
    # returned (or sys.exit-ed) with the pool still open, and psycopg warns about every
    # connection garbage-collected open.
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(services.close)
    return services


def _json_default(value: Any) -> Any:
    # PostgreSQL sums are Decimal: write whole numbers as JSON numbers, as on SQLite, not strings.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return str(value)


@click.group()
def main() -> None:
    """GoPay Care: the customer-service platform for the GoPay e-wallet."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from .migrations import upgrade

    settings = _settings()
    click.echo(f"migrating {settings.database_url.split('@')[-1]} ...")
    upgrade(settings.database_url)
    services = _services(settings)
    services.wallet.bootstrap()
    services.close()
    click.echo("database is up to date")


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from .web.app import create_app

    configure_logging(settings.log_level, settings.log_json)
    services = _services(settings)
    services.wallet.bootstrap()
    from .kb.service import ensure_loaded

    ensure_loaded(services)
    app = create_app(services, run_jobs_in_process=not settings.redis_url)
    click.echo(f"GoPay Care on http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app and API (migrate first)."""
    from .migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    _serve(settings, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--customers", default=200, show_default=True, type=int, help="how many demo customers")
@click.option("--no-serve", is_flag=True, help="seed only, then exit")
def demo(host: str, port: int, customers: int, no_serve: bool) -> None:
    """Seed demo data into an empty database, then serve."""
    from .demo.seed import seed_if_empty
    from .migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    services = _services(settings)
    summary = seed_if_empty(services, customers=customers)
    services.close()
    click.echo(summary)
    if not no_serve:
        _serve(settings, host, port)


@main.command()
@click.option("--workers", default=2, show_default=True, type=int)
def worker(workers: int) -> None:
    """Run background jobs from Redis (scaled mode)."""
    from huey.consumer import Consumer

    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException("GOPAYCARE_REDIS_URL is not set: in embedded mode `serve` runs the jobs itself")
    configure_logging(settings.log_level, settings.log_json)
    services = _services(settings)
    Consumer(services.huey, workers=workers, worker_type="thread").run()


@main.group()
def ledger() -> None:
    """Ledger tools."""


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def ledger_verify(as_json: bool) -> None:
    """Prove the ledger's invariants; exit 1 with the offending rows if one fails."""
    from .wallet.verify import CHECKS, verify

    services = _services(_settings())
    report = verify(services.db)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "counts": report.counts, "violations": report.violations},
                              default=_json_default, indent=2))
    else:
        click.echo("  ".join(f"{k}={v}" for k, v in report.counts.items()))
        for name in CHECKS:
            rows = report.violations.get(name)
            click.echo(f"{'FAIL' if rows else 'ok  '} {name}")
            for row in rows or []:
                click.echo(f"       {row}")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--to", "destination", default=None, help="only messages to this phone (E.164) or email")
@click.option("--limit", default=10, show_default=True, type=int)
def outbox(destination: str | None, limit: int) -> None:
    """Show the latest outgoing messages (demo: codes are "held" when no SMTP/SMS is configured)."""
    services = _services(_settings())
    for message in services.outbox.latest(destination=destination, limit=limit):
        click.echo(f"#{message.id} {message.created_at:%Y-%m-%d %H:%M:%S} {message.channel} -> "
                   f"{message.destination} [{message.status}] {message.body}")


@main.group()
def agents() -> None:
    """Manage agents."""


@agents.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["agent", "supervisor", "admin"]))
@click.option("--password", default=None, help="login password (8+ characters)")
@click.option("--name", default=None)
def agents_create(email: str, role: str, password: str | None, name: str | None) -> None:
    """Create an agent."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        agent = services.agents.create(email, role, name=name, password=password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"agent {agent.id} {agent.email} ({agent.role})")


@main.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("email")
def tokens_create(email: str) -> None:
    """Print a new bearer API token for an agent."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        click.echo(services.agents.create_token(email))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


if __name__ == "__main__":
    main()
