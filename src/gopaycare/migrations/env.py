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
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
