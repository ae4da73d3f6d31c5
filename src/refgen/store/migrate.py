"""Bring a database's schema up to date with the Alembic migrations shipped in this package.

No ``alembic.ini`` is needed: the configuration is built in code and points at
``refgen/store/migrations``. The server calls :func:`upgrade` on start.

Running it from several processes at once is safe: all migrations run in ONE transaction that
takes the database's write lock before Alembic reads the current revision (SQLite:
``BEGIN IMMEDIATE``, and SQLite's DDL is transactional once pysqlite stops committing on its own,
see :mod:`refgen.store.engine`; PostgreSQL: a transaction-scoped advisory lock). The second process
waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, exc, text
from sqlalchemy.engine import URL

from refgen.errors import StoreError
from refgen.store.engine import BEGIN_IMMEDIATE, make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_PG_MIGRATION_LOCK = 0x72656667656E  # "refgen": one advisory lock id for all migrating processes


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of refgen."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except exc.SQLAlchemyError as error:
        raise StoreError(f"could not read the schema revision: {error}") from error


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Migrate the database to ``revision``; a no-op when it is there already.

    Given a URL, an engine is made for the call and disposed of afterwards.
    """
    if isinstance(engine_or_url, Engine):
        _upgrade(engine_or_url, revision)
        return
    engine = make_engine(engine_or_url)
    try:
        _upgrade(engine, revision)
    finally:
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    try:
        with engine.connect() as connection:
            connection.execution_options(**{BEGIN_IMMEDIATE: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _PG_MIGRATION_LOCK}
                    )
                # env.py sees a transaction already begun and runs every migration inside it
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
    except exc.SQLAlchemyError as error:
        raise StoreError(f"database migration failed: {error}") from error
