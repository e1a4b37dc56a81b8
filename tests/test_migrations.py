"""The migrations build exactly the schema the models describe, up and down, on both engines."""

from __future__ import annotations

from alembic import command

from gopaycare.migrations import alembic_config, check, upgrade


def test_models_and_migrations_agree(settings):
    check(settings.database_url)


def test_downgrade_to_nothing_and_back(settings):
    config = alembic_config(settings.database_url)
    command.downgrade(config, "base")
    upgrade(settings.database_url)
    check(settings.database_url)
