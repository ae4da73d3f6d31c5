"""``Idempotency-Key`` records on SQLite and PostgreSQL (this directory's ``store`` fixture): concurrent
duplicates insert one task, the primary key refuses a second record, a record goes with its task."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, delete, func, select

from refgen.errors import StoreError
from refgen.store.base import IdempotentCreate
from refgen.store.schema import idempotency_keys, tasks
from refgen.store.sql import SqlStore
from refgen.store.sql_idempotency import is_duplicate_key, record
from refgen.store.sql_transactions import SqlTransactions
from refgen.testing.store import make_api_key, make_task

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SENDERS = 8


def _sql(store: SqlStore) -> SqlTransactions:
    """The store's transactions: to count rows, and to write what no store method writes (a second
    record of one key; deleting a task row, as a retention sweep does)."""
    return store._db


def _count(store: SqlStore, table: Table) -> int:
    with _sql(store).read() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_idempotency_concurrent_duplicates_insert_one_task(store: SqlStore) -> None:
    key = make_api_key("alice", credits=8)  # room for one task only: a second insert would be refused
    store.keys.add_key(key)
    create = IdempotentCreate("retry-me", "a" * 64, T0)
    start = threading.Barrier(SENDERS)

    def send(i: int) -> str:
        start.wait(timeout=30)
        return store.tasks.insert_task(make_task(f"t{i}", key.id, created_at=T0), None, create)

    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(send, range(SENDERS)))

    assert len(set(answers)) == 1
    (winner,) = set(answers)
    assert [t.id for t in store.tasks.list_tasks(key.id)] == [winner]
    assert _count(store, tasks) == 1 and _count(store, idempotency_keys) == 1


def test_idempotency_the_primary_key_refuses_a_second_record(store: SqlStore) -> None:
    key = make_api_key("alice")
    store.keys.add_key(key)
    create = IdempotentCreate("k", "a" * 64, T0)
    store.tasks.insert_task(make_task("t1", key.id), None, create)
    store.tasks.insert_task(make_task("t2", key.id))
    with pytest.raises(StoreError) as refused, _sql(store).write() as connection:
        record(connection, key.id, "t2", create)
    assert is_duplicate_key(refused.value)
    assert store.tasks.find_idempotent(key.id, create) == "t1"


def test_idempotency_a_record_goes_with_its_task(store: SqlStore) -> None:
    key = make_api_key("alice")
    store.keys.add_key(key)
    create = IdempotentCreate("k", "a" * 64, T0)
    store.tasks.insert_task(make_task("t1", key.id), None, create)
    with _sql(store).write() as connection:
        connection.execute(delete(tasks).where(tasks.c.id == "t1"))
    assert _count(store, idempotency_keys) == 0
    assert store.tasks.find_idempotent(key.id, create) is None
    assert store.tasks.insert_task(make_task("t2", key.id), None, create) == "t2"
