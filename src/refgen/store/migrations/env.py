"""Alembic environment for refgen's packaged migrations.

Run through :func:`refgen.store.migrate.upgrade`, which passes an open connection (with its
transaction already begun) in ``config.attributes["connection"]``. Run by the ``alembic`` command
instead, it connects to ``sqlalchemy.url`` from the configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from refgen.store.engine import make_engine
from refgen.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = make_engine(url)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
            new_connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("refgen's migrations run online only")
run_migrations_online()
