"""Several worker PROCESSES claiming from one SQLite file: no task is taken twice, no key goes over
its concurrency limit. Every process opens its own engine, as the server's worker children do."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from refgen.domain import TaskState
from refgen.store.engine import make_engine
from refgen.store.sql import SqlStore
from refgen.testing.store import make_api_key, make_task

T0 = datetime(2025, 3, 1, tzinfo=UTC)
WORKERS = 4


def _claim_until_empty(url: str, worker_id: str, barrier: Any, complete: bool) -> list[str]:
    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        barrier.wait(timeout=60)
        claimed: list[str] = []
        while (task := store.queue.claim(worker_id, None, 600, T0)) is not None:
            claimed.append(task.id)
            if complete:
                assert store.queue.complete(task.id, worker_id, [], T0)
        return claimed
    finally:
        engine.dispose()


def _race(url: str, complete: bool) -> dict[str, list[str]]:
    context = multiprocessing.get_context("spawn")
    worker_ids = [f"w{i}" for i in range(WORKERS)]
    with context.Manager() as manager, ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        barrier = manager.Barrier(WORKERS)
        results = pool.map(
            _claim_until_empty, [url] * WORKERS, worker_ids, [barrier] * WORKERS, [complete] * WORKERS
        )
        return dict(zip(worker_ids, results, strict=True))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'refgen.sqlite3'}"


def test_store_race_every_task_claimed_exactly_once(url: str, engine: Engine) -> None:
    store = SqlStore(engine)
    keys = [make_api_key(f"k{i}", concurrency=1000) for i in range(4)]
    for key in keys:
        store.keys.add_key(key)
    ids = [f"t{i:03d}" for i in range(200)]
    for i, task_id in enumerate(ids):
        store.tasks.insert_task(make_task(task_id, keys[i % 4].id, created_at=T0 + timedelta(microseconds=i)))

    claimed = _race(url, complete=True)

    every = [task_id for ids_ in claimed.values() for task_id in ids_]
    assert sorted(every) == ids  # all taken, none twice
    for worker_id, mine in claimed.items():
        assert mine == sorted(mine)  # each worker saw the queue in FIFO order
        for task_id in mine:
            task = store.tasks.get_task(task_id)
            assert task is not None
            assert (task.state, task.worker_id, task.attempts) == (TaskState.SUCCESS, worker_id, 1)
    assert sum(1 for ids_ in claimed.values() if ids_) >= 2  # the processes really competed


def test_store_race_key_concurrency_holds(url: str, engine: Engine) -> None:
    store = SqlStore(engine)
    limits = {f"k{i}": i for i in range(1, 6)}  # 15 slots in all
    for name, limit in limits.items():
        store.keys.add_key(make_api_key(name, concurrency=limit))
    n = 0
    for _ in range(30):
        for name in limits:
            store.tasks.insert_task(
                make_task(f"t{n:03d}", f"key-{name}", created_at=T0 + timedelta(microseconds=n))
            )
            n += 1

    claimed = _race(url, complete=False)  # nobody finishes: the limits must stop everyone

    every = [task_id for ids_ in claimed.values() for task_id in ids_]
    assert len(every) == len(set(every)) == sum(limits.values())
    per_key = Counter(task.key_id for task_id in every if (task := store.tasks.get_task(task_id)) is not None)
    assert per_key == {f"key-{name}": limit for name, limit in limits.items()}
