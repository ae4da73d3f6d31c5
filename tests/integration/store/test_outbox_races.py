"""The callback outbox on real databases: SQLite shared by processes, and PostgreSQL.

Several dispatcher PROCESSES take deliveries at once: none is taken twice, and one task's
callbacks are never out together. On PostgreSQL the migrations also build exactly schema.py.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from refgen.domain import TaskState
from refgen.store.base import DeliveryStatus
from refgen.store.engine import make_engine
from refgen.store.schema import metadata
from refgen.store.sql import SqlStore
from refgen.testing.store import make_api_key, make_task

T0 = datetime(2025, 3, 1, tzinfo=UTC)
DISPATCHERS = 4
HOOK = "https://hooks.example/cb"


def _dispatch_until_empty(url: str, barrier: Any) -> list[tuple[str, float, float]]:
    """Take deliveries a few at a time and mark them delivered, until none is due. Returns, by the
    wall clock, (id, just after the claim that took it returned, just before its record began)."""
    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        barrier.wait(timeout=60)
        taken: list[tuple[str, float, float]] = []
        now = T0 + timedelta(hours=1)
        while batch := store.outbox.claim_deliveries(now, 3, 60):
            claimed = time.time()
            for delivery in batch:
                recording = time.time()
                store.outbox.record_attempt(
                    delivery.id, now, status_code=200, error=None, delivered=True, next_attempt_at=None
                )
                taken.append((delivery.id, claimed, recording))
        return taken
    finally:
        engine.dispose()


def _race(url: str) -> list[list[tuple[str, float, float]]]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(DISPATCHERS, mp_context=context) as pool:
        barrier = manager.Barrier(DISPATCHERS)
        return list(pool.map(_dispatch_until_empty, [url] * DISPATCHERS, [barrier] * DISPATCHERS))


def test_outbox_migrations_build_the_schema_module(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_outbox_every_delivery_taken_once_and_in_order_per_task(url: str, engine: Engine) -> None:
    store = SqlStore(engine)
    key = make_api_key("k", concurrency=1000)
    store.keys.add_key(key)
    for i in range(60):
        store.tasks.insert_task(make_task(f"t{i:02d}", key.id, created_at=T0, callback_url=HOOK))
    for i in range(60):  # processing, then (for half of them) success: 90 deliveries
        task = store.queue.claim("w", None, 600, T0 + timedelta(seconds=i))
        assert task is not None
        if i % 2 == 0:
            assert store.queue.complete(task.id, "w", [], T0 + timedelta(seconds=i, milliseconds=500))
    all_ids = [d.id for d in store.outbox.list_deliveries(limit=1000)]
    assert len(all_ids) == 90

    taken = _race(url)

    every = [delivery_id for got in taken for delivery_id, _, _ in got]
    assert Counter(every) == Counter(all_ids)  # all taken, none twice
    assert sum(1 for got in taken if got) >= 2  # the processes really competed
    for delivery in store.outbox.list_deliveries(limit=1000):
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    times = {delivery_id: (claimed, recording) for got in taken for delivery_id, claimed, recording in got}
    for i in range(0, 60, 2):  # a task's success was taken only after its processing's record began
        processing, success = store.outbox.list_deliveries(f"t{i:02d}")
        assert (processing.state, success.state) == (TaskState.PROCESSING, TaskState.SUCCESS)
        assert times[success.id][0] >= times[processing.id][1]
