"""Both stores behind one fixture: every behaviour test runs against MemoryStore and SqlStore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import pytest

from refgen.store.engine import make_engine
from refgen.store.migrate import upgrade
from refgen.store.sql import SqlStore
from refgen.testing.store import MemoryStore

AnyStore: TypeAlias = MemoryStore | SqlStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'refgen.sqlite3'}")
    try:
        upgrade(engine)
        yield SqlStore(engine)
    finally:
        engine.dispose()
