"""The packaged Alembic migrations: they build exactly schema.py, and re-running them does nothing."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from refgen.store.engine import make_engine
from refgen.store.migrate import current_revision, head_revision, upgrade
from refgen.store.schema import metadata
from refgen.store.sql import SqlStore
from refgen.testing.store import make_api_key


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'refgen.sqlite3'}")
    yield engine
    engine.dispose()


def test_migrate_builds_the_schema_module_exactly(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert {"api_keys", "tasks", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    SqlStore(engine).keys.add_key(make_api_key("alice"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert [k.name for k in SqlStore(engine).keys.list_keys()] == ["alice"]


def test_migrate_accepts_a_url_and_creates_the_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'refgen.sqlite3'}"
    upgrade(url)
    upgrade(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def _migrate(url: str, barrier: Any) -> str | None:
    barrier.wait(timeout=60)
    upgrade(url)
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_migrate_from_several_processes_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'refgen.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(3, mp_context=context) as pool:
        barrier = manager.Barrier(3)
        revisions = list(pool.map(_migrate, [url] * 3, [barrier] * 3))
    assert revisions == [head_revision()] * 3
