"""The store behaviour suite (the ``test_*_behaviour`` modules and the worker registry here) runs
against :class:`~refgen.testing.store.MemoryStore` in this tier. The same modules run against
:class:`~refgen.store.sql.SqlStore` on SQLite and on PostgreSQL in ``tests/integration/store``,
whose ``store`` fixture gives those instead."""

from __future__ import annotations

from typing import TypeAlias

import pytest

from refgen.store.sql import SqlStore
from refgen.testing.store import MemoryStore

AnyStore: TypeAlias = MemoryStore | SqlStore


@pytest.fixture(params=["memory"])
def store() -> MemoryStore:
    return MemoryStore()
