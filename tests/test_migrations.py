"""The migrations build exactly the schema the models describe, up and down, on both engines."""

from __future__ import annotations

from alembic import command

from gopaycare.migrations import alembic_config, check, upgrade
from gopaycare.wallet.verify import verify
from tests.conftest import PIN


def test_models_and_migrations_agree(settings):
    check(settings.database_url)


def test_downgrade_to_nothing_and_back(settings):
    config = alembic_config(settings.database_url)
    command.downgrade(config, "base")
    upgrade(settings.database_url)
    check(settings.database_url)


def test_a_database_with_money_in_it_migrates_down_and_up(settings, svc, make_customer, make_merchant):
    """Migrations that rebuild wallet_transactions on SQLite (batch mode) keep the ledger's transfers
    pointing at it: a database with payments in it upgrades, and the ledger still verifies."""
    customer_id = make_customer(phone="+6281200000077", balance=100_000)
    svc.payments.pay(customer_id, make_merchant(), 5_000, PIN, "migrate-with-money")
    svc.db.engine.dispose()  # the migration's own connection works alone on the file
    config = alembic_config(settings.database_url)

    command.downgrade(config, "0016")
    upgrade(settings.database_url)

    check(settings.database_url)
    assert verify(svc.db).ok
    assert [t.status for t in svc.wallet.list_transactions(customer_id)] == ["succeeded", "succeeded"]
