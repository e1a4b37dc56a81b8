from __future__ import annotations

from alembic import context

from gopaycare.models import metadata
from gopaycare.platform.db import make_engine

config = context.config

# Objects made by hand in migrations (full-text search) that the models do not describe.
MANUAL_OBJECTS = ("ticket_search_fts", "ix_ticket_search_fts", "ix_ticket_search_document", "document")


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN201
    return not (name or "").startswith(MANUAL_OBJECTS)


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True, render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping
            # a table that rows elsewhere point at (the ledger's transfers at wallet_transactions) fails.
            # SQLite's own procedure for altering a table: keys off outside the transaction (the pragma
            # does nothing inside one), alter, then foreign_key_check before the commit.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite,
                          compare_type=True, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)):
                raise RuntimeError(f"the migration left rows pointing at nothing: {broken}")
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
