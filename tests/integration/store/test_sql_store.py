"""What only the SQL store has: engine set-up, URL handling, driver errors mapped to StoreError."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from refgen.errors import StoreError
from refgen.store.engine import make_engine, normalise_url
from refgen.store.migrate import upgrade
from refgen.store.schema import tasks
from refgen.store.sql import SqlStore
from refgen.testing.store import make_api_key, make_task


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'refgen.sqlite3'}")
    yield engine
    engine.dispose()


def test_make_engine_sqlite_creates_folder_and_sets_pragmas(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1, "synchronous": 1}
    assert (tmp_path / "deep" / "er").is_dir()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/refgen", "postgresql+psycopg://u:***@db:5432/refgen"),
        ("postgres://u@db/refgen", "postgresql+psycopg://u@db/refgen"),
        ("postgresql+psycopg://u@db/refgen", "postgresql+psycopg://u@db/refgen"),
        ("sqlite:///x.sqlite3", "sqlite:///x.sqlite3"),
    ],
)
def test_make_engine_url_normalisation(given: str, expected: str) -> None:
    assert str(normalise_url(given)) == expected


def test_sql_store_refuses_unconfigured_sqlite_engine(tmp_path: Path) -> None:
    plain = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with pytest.raises(ValueError, match="make_engine"):
            SqlStore(plain)
    finally:
        plain.dispose()


def test_sql_store_maps_driver_errors_to_store_error(engine: Engine) -> None:
    store = SqlStore(engine)  # not migrated: no tables
    with pytest.raises(StoreError, match="OperationalError"):
        store.tasks.get_task("t1")
    with pytest.raises(StoreError):
        store.queue.claim("w", None, 30, datetime(2025, 1, 1, tzinfo=UTC))


def test_sql_store_ping_false_when_database_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'not-a-db'}")  # a folder: cannot be opened
    try:
        assert SqlStore(broken).ping() is False
    finally:
        broken.dispose()


def test_sql_store_keeps_utc_text_in_sqlite(engine: Engine) -> None:
    upgrade(engine)
    store = SqlStore(engine)
    store.keys.add_key(make_api_key("alice"))
    store.tasks.insert_task(make_task("t1", "key-alice", created_at=datetime(2025, 1, 1, 12, 30, tzinfo=UTC)))
    with engine.connect() as connection:
        raw = connection.execute(select(tasks.c.created_at.cast(tasks.c.prompt.type))).scalar_one()
    assert raw.startswith("2025-01-01 12:30:00")
