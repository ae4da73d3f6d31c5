"""The ``store`` the shared behaviour suite runs against in this tier: SqlStore on SQLite and on
PostgreSQL (the unit tier runs the same suite against MemoryStore); and, for tests that open the
database from several processes, its ``url`` (a fresh SQLite file or PostgreSQL database; a module
may narrow it) and a migrated ``engine`` on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from refgen.store.engine import make_engine
from refgen.store.migrate import upgrade
from refgen.store.schema import metadata
from refgen.store.sql import SqlStore


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """One migrated PostgreSQL database for the behaviour suite; emptied before each test."""
    engine = make_engine(postgres_url.rsplit("/", 1)[0] + "/" + _database(postgres_url))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def _database(admin_url: str) -> str:
    import psycopg

    name = "refgen_store_behaviour"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return name


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("postgres_engine")
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        yield SqlStore(engine)
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'refgen.sqlite3'}")
    try:
        upgrade(engine)
        yield SqlStore(engine)
    finally:
        engine.dispose()


def fresh_postgres_database(admin_url: str) -> str:
    """The URL of a new, empty database on the server of ``admin_url``."""
    import psycopg

    name = f"refgen_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'refgen.sqlite3'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
