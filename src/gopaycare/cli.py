"""The `gopaycare` command."""

from __future__ import annotations

import json
import sys
import threading
from decimal import Decimal
from typing import Any

import click

from .platform.logging import configure_logging
from .platform.secret_key import check_serving_key, ensure_demo_key, with_stored_key
from .platform.settings import Settings, SettingsError, load_settings

# Seconds `serve` waits, after SIGTERM, for open requests and sockets before closing them: a chat
# socket never ends by itself, and uvicorn would otherwise wait for it forever.
SHUTDOWN_GRACE_SECONDS = 3


def _settings() -> Settings:
    try:
        return with_stored_key(load_settings())
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


def _warm_up_assistant(services: Any) -> None:
    """Load (or, on the first start, train) the assistant's model in the background, so the server answers
    at once; a question that arrives before the model is ready waits for it (about half a minute, once)."""
    import logging
    import time

    log = logging.getLogger("gopaycare.assistant")

    def warm_up() -> None:
        started = time.perf_counter()
        try:
            services.assistant.parse("halo")  # the model, then its sentence encoder, which loads on first use
        except Exception:
            log.exception("the assistant's model could not be loaded; assistant requests will retry")
            return
        log.info("assistant ready in %.1f s", time.perf_counter() - started)

    log.info("assistant: loading its model in the background from %s (the first start trains it, about "
             "half a minute; questions asked meanwhile wait for it)", services.settings.model_dir)
    threading.Thread(target=warm_up, name="assistant-warm-up", daemon=True).start()


def _serve(settings: Settings, host: str, port: int, services: Any = None) -> None:
    """Serve on `services` (built here when not given)."""
    import uvicorn

    from .web.app import create_app

    if services is None:
        configure_logging(settings.log_level, settings.log_json)
        services = _services(settings)
    services.wallet.bootstrap()
    from .kb.service import ensure_loaded

    ensure_loaded(services.kb)
    _warm_up_assistant(services)
    app = create_app(services, run_jobs_in_process=not settings.redis_url)
    listener = _start_email_listener(services)
    click.echo(f"GoPay Care on http://{host}:{port}/  (API docs: /docs)")
    try:
        # A socket still open at SIGTERM is closed after a few seconds rather than holding the stop.
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                    forwarded_allow_ips=settings.trusted_proxies, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
    finally:
        if listener is not None:
            listener.stop()


def _start_email_listener(services: Any) -> Any:
    """Customers' mail over SMTP (GOPAYCARE_INBOUND_SMTP_*). A port another process holds (a second
    `serve`, a demo) leaves this one without the listener, said in the log, rather than not starting."""
    import logging

    from .channels.registry import email_listener_from_settings

    listener = email_listener_from_settings(services.settings, services.email_inbound)
    if listener is None:
        return None
    try:
        listener.start()
    except Exception as exc:
        logging.getLogger("gopaycare.channels").warning(
            "inbound SMTP listener not started on %s:%s (%s)", listener.host, listener.port, type(exc).__name__)
        return None
    click.echo(f"inbound mail on smtp://{listener.host}:{listener.port}/")
    return listener


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app and API (migrate first)."""
    from .migrations import upgrade

    settings = _settings()
    try:
        check_serving_key(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(settings.database_url)
    _serve(settings, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--customers", default=200, show_default=True, type=int, help="how many demo customers")
@click.option("--no-serve", is_flag=True, help="seed only, then exit")
@click.option("--reset", is_flag=True,
              help="first remove every row of the database (SQLite: the file) and every queued job")
def demo(host: str, port: int, customers: int, no_serve: bool, reset: bool) -> None:
    """Seed demo data into an empty database, then serve."""
    from .demo.seed import seed_if_empty
    from .migrations import upgrade

    settings = _settings()
    if not no_serve:
        configure_logging(settings.log_level, settings.log_json)
    # The demo makes its own random key once (kept beside its database) rather than use the public one.
    settings = ensure_demo_key(settings)
    if reset:
        from .demo.reset import reset_database

        click.echo(f"resetting {settings.database_url.split('@')[-1]} ...")
        reset_database(settings.database_url)
    if not no_serve:
        _build_model_meanwhile(settings)
    upgrade(settings.database_url)
    services = _services(settings)
    if reset:
        services.huey.flush()  # jobs queued for the rows just removed
    summary = seed_if_empty(services, customers=customers)
    click.echo(summary)
    if not no_serve:
        _serve(settings, host, port, services)


def _build_model_meanwhile(settings: Settings) -> None:
    """The first start trains the assistant's model: do it in a process of its own while the demo is
    seeded (a second core, no lock shared with the seeding). It holds the model cache's file lock, so
    the server's warm-up waits for it and then loads what it saved; with the model already cached it
    only loads it and exits."""
    import subprocess

    subprocess.Popen([sys.executable, "-m", "gopaycare.cli", "nlu", "build", "--cache", settings.model_dir],
                     stdout=subprocess.DEVNULL)


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


def _extra_ledger_checks() -> list[dict[str, str]]:
    """Checks other packages add to `ledger verify` (one line each)."""
    from .disputes.verify import CHECKS as DISPUTES

    return [DISPUTES]


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def ledger_verify(as_json: bool) -> None:
    """Prove the ledger's invariants; exit 1 with the offending rows if one fails."""
    from .wallet.verify import CHECKS, EXTRA_CHECKS, verify

    services = _services(_settings())
    extra = {name: sql for checks in _extra_ledger_checks() for name, sql in checks.items()}
    report = verify(services.db, extra=extra)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "counts": report.counts, "violations": report.violations},
                              default=_json_default, indent=2))
    else:
        click.echo("  ".join(f"{k}={v}" for k, v in report.counts.items()))
        for name in [*CHECKS, *(name for name, _ in EXTRA_CHECKS), *extra]:  # refunds/verify.py, disputes/verify.py
            rows = report.violations.get(name)
            click.echo(f"{'FAIL' if rows else 'ok  '} {name}")
            for row in rows or []:
                click.echo(f"       {row}")
    sys.exit(0 if report.ok else 1)


@main.group()
def merchants() -> None:
    """Merchants' access to the merchant API."""


@merchants.command("key")
@click.argument("merchant_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--label", default="merchant API", show_default=True)
def merchants_key(merchant_id: int, label: str) -> None:
    """Make a merchant API key (printed once; only its hash is kept)."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        services.wallet.merchant(merchant_id)  # an unknown merchant stops here
        click.echo(services.merchant_keys.create(merchant_id, label=label))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


@merchants.command("keys")
@click.argument("merchant_id", type=click.IntRange(1, 2**63 - 1))
def merchants_keys(merchant_id: int) -> None:
    """List a merchant's API keys (id, label, made, revoked): never the keys themselves."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        services.wallet.merchant(merchant_id)  # an unknown merchant stops here
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    keys = services.merchant_keys.of_merchant(merchant_id)
    if not keys:
        click.echo(f"merchant {merchant_id} has no API keys")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else "active"
        click.echo(f"#{key.id}  {key.created_at:%Y-%m-%d %H:%M:%S}  {state}  {key.label}")


@merchants.command("revoke")
@click.argument("key_id", type=click.IntRange(1, 2**63 - 1))
def merchants_revoke(key_id: int) -> None:
    """Revoke a merchant API key (its id from `merchants keys`): the merchant API refuses it at once and
    every merchant-page session signed in with it ends."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        key = services.merchant_keys.revoke(key_id)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"key #{key.id} ({key.label}) of merchant {key.merchant_id} revoked: the merchant API refuses it "
               "and its merchant-page sessions have ended")


@main.command()
@click.option("--to", "destination", default=None, help="only messages to this phone (E.164) or email")
@click.option("--limit", default=10, show_default=True, type=int)
def outbox(destination: str | None, limit: int) -> None:
    """Show the latest outgoing messages (demo: codes are "held" when no SMTP/SMS is configured)."""
    services = _services(_settings())
    messages = services.outbox.latest(destination=destination, limit=limit)
    if not messages:
        click.echo(f"no outgoing messages{f' to {destination}' if destination else ''}")
    for message in messages:
        click.echo(f"#{message.id} {message.created_at:%Y-%m-%d %H:%M:%S} {message.channel} -> "
                   f"{message.destination} [{message.status}] {message.body}")


@main.command()
def recount() -> None:
    """Count the dashboard's daily counters again from the rows (after a bulk load or an upgrade)."""
    services = _services(_settings())
    click.echo(f"{services.desk.reports.recount()} counter(s) written")


@main.command("reseal-secrets")
def reseal_secrets() -> None:
    """Seal the channel accounts' secrets again under GOPAYCARE_SECRET_KEY (after it changed, with the
    old key still in GOPAYCARE_PREVIOUS_SECRET_KEYS, which can be dropped afterwards)."""
    services = _services(_settings())
    click.echo(f"{services.channel_accounts.reseal()} channel account(s) sealed again")


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
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="expire after this many days (default GOPAYCARE_AGENT_TOKEN_TTL_DAYS, 90)")
def tokens_create(email: str, days: int | None) -> None:
    """Print a new bearer API token for an agent (it expires; revoke it with POST /api/v1/agent/logout)."""
    from .platform.errors import DomainError

    services = _services(_settings())
    try:
        click.echo(services.agents.create_token(email, days=days))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


# ---------------------------------------------------------------- nlu: the assistant's intent engine


def _nlu_errors() -> tuple[type[Exception], ...]:
    from .assistant.nlu import NLUDataError, NLUModelError
    from .assistant.nlu.encoders import EncoderUnavailable

    return (NLUDataError, NLUModelError, EncoderUnavailable, ValueError)


@main.group()
def nlu() -> None:
    """Train, test and try the assistant's intent engine."""


_NLU_ENGINES = ["full", "full-knn", "e5", "use", "tfidf"]


@nlu.command("train")
@click.option("--data", "data_path", required=True, type=click.Path(), help="CSV (text,category) or YAML file/dir")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="model directory to write")
@click.option("--engine", default="use", show_default=True, type=click.Choice(_NLU_ENGINES),
              help="features: use = USE embeddings + char/word TF-IDF (the product's); full = e5 + USE + TF-IDF; "
                   "full-knn = full averaged with a nearest-neighbour vote over the embeddings; tfidf = TF-IDF "
                   "only (e5, full and full-knn need the e5 extra)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="print the model's manifest as JSON")
def nlu_train(data_path: str, out_dir: str, engine: str, seed: int, as_json: bool) -> None:
    """Train an intent model and save it to --out."""
    from dataclasses import replace

    from .assistant.nlu import NLU, load_examples
    from .assistant.nlu.engine import preset

    try:
        examples = load_examples(data_path)
        model = NLU.train(examples, out_dir, config=replace(preset(engine), seed=seed))
    except _nlu_errors() as exc:
        raise click.ClickException(str(exc)) from None
    manifest = model.manifest()
    if as_json:
        click.echo(json.dumps(manifest, indent=2, ensure_ascii=False))
        return
    calibration = manifest["calibration"]
    oof = calibration.get("oof", {})
    click.echo(f"trained {engine} engine on {len(examples)} examples, {len(model.intents)} intents "
               f"in {manifest['train_seconds']:.1f} s -> {out_dir}")
    click.echo(f"threshold {calibration['threshold']:.3f} ({calibration['rule']}, {calibration['folds']}-fold "
               f"out-of-fold), temperature {calibration['temperature']:.3f}")
    if oof:
        click.echo("out-of-fold: " + "  ".join(f"{k} {v}" for k, v in oof.items()))


def _nlu_test(model_dir: str | None, data_path: str, as_json: bool, cv: int | None, engine: str | None,
              threshold: float | None = None) -> None:
    from .assistant.nlu import NLU, load_examples
    from .assistant.nlu.engine import EngineConfig, preset
    from .assistant.nlu.evaluate import cross_validate, evaluate, format_report

    try:
        if cv is None and model_dir is None:
            raise click.UsageError("give --model DIR (or --cv K to cross-validate on --data)")
        examples = load_examples(data_path)
        if cv is not None:
            if model_dir is not None and engine is None:
                config = EngineConfig.from_dict(NLU.read_manifest(model_dir)["config"])
            else:
                config = preset(engine or "use")
            report = cross_validate(examples, config, cv, threshold=threshold)
            title = f"{cv}-fold cross-validation of the {'/'.join(config.encoders) or 'tfidf'} engine on {data_path}"
        else:
            assert model_dir is not None
            model = NLU.load(model_dir)
            report = evaluate(model.model, examples, threshold=threshold)
            title = f"model {model_dir} on {data_path}"
    except _nlu_errors() as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        click.echo(format_report(report, title))


_test_options = [
    click.option("--model", "model_dir", default=None, type=click.Path(), help="model directory (from nlu train)"),
    click.option("--data", "data_path", required=True, type=click.Path(), help="CSV (text,category) or YAML file/dir"),
    click.option("--json", "as_json", is_flag=True, help="print the report as JSON"),
    click.option("--cv", default=None, type=click.IntRange(min=2),
                 help="K-fold cross-validation on --data instead (trains K models)"),
    click.option("--engine", default=None, type=click.Choice(_NLU_ENGINES),
                 help="engine for --cv (default: the --model's, else use)"),
    click.option("--threshold", default=None, type=click.FloatRange(0.0, 1.0),
                 help="fallback threshold for this run instead of the model's stored one (to study the trade-off)"),
]


def _with_test_options(func: Any) -> Any:
    for option in reversed(_test_options):
        func = option(func)
    return func


@nlu.command("test")
@_with_test_options
def nlu_test(model_dir: str | None, data_path: str, as_json: bool, cv: int | None, engine: str | None,
             threshold: float | None) -> None:
    """Accuracy, macro-F1, per-intent figures, confusions (in-scope accuracy and OOS recall with oos data)."""
    _nlu_test(model_dir, data_path, as_json, cv, engine, threshold)


@nlu.command("evaluate")
@_with_test_options
def nlu_evaluate(model_dir: str | None, data_path: str, as_json: bool, cv: int | None, engine: str | None,
                 threshold: float | None) -> None:
    """The same as `nlu test`."""
    _nlu_test(model_dir, data_path, as_json, cv, engine, threshold)


@nlu.command("build")
@click.option("--cache", "cache_dir", default=None, type=click.Path(),
              help="cache directory (default: $GOPAYCARE_NLU_CACHE or ~/.cache/gopaycare/nlu)")
def nlu_build(cache_dir: str | None) -> None:
    """Train (or find cached) the product model from the assistant's training data."""
    import time

    from .assistant.nlu import load_product_nlu
    from .assistant.nlu.product import default_cache_dir

    started = time.perf_counter()
    try:
        model = load_product_nlu(cache_dir or default_cache_dir())
    except _nlu_errors() as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"product NLU ready in {time.perf_counter() - started:.1f} s: {len(model.intents)} intents, "
               f"threshold {model.threshold:.3f}, fingerprint {model.meta.get('fingerprint', '')[:12]}")


@nlu.command("parse")
@click.argument("text")
@click.option("--model", "model_dir", default=None, type=click.Path(), help="model directory (default: product)")
@click.option("--lang", default=None, help="the message's language (default: detected)")
def nlu_parse(text: str, model_dir: str | None, lang: str | None) -> None:
    """Print the Rasa-shaped parse of one message as JSON."""
    from .assistant.nlu import NLU, load_product_nlu

    try:
        model = NLU.load(model_dir) if model_dir else load_product_nlu()
        click.echo(json.dumps(model.parse(text, lang=lang).as_rasa(), indent=2, ensure_ascii=False, default=str))
    except _nlu_errors() as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
