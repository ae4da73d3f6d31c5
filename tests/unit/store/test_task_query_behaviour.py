"""The task list's query and a key's usage, the same on every store (see conftest's ``store``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from refgen.domain import Creation, TaskKind, TaskSpec, TaskState
from refgen.task_query import KeyUsage, TaskCursor, TaskQuery
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def alice(store: AnyStore) -> str:
    key = make_api_key("alice", credits=100)
    store.keys.add_key(key)
    store.keys.add_key(make_api_key("bob"))
    return key.id


def listed(store: AnyStore, query: TaskQuery) -> list[str]:
    return [t.id for t in store.tasks.query_tasks(query)]


def add(
    store: AnyStore,
    task_id: str,
    key: str,
    seconds: float,
    *,
    model: str = "viduq1",
    kind: TaskKind = TaskKind.VIDEO,
    state: TaskState = TaskState.CREATED,
) -> None:
    task = make_task(task_id, key, created_at=at(seconds), credits=1, model=model, kind=kind, state=state)
    store.tasks.insert_task(task)


def test_store_query_lists_the_keys_tasks_newest_first_ids_breaking_ties(store: AnyStore, alice: str) -> None:
    add(store, "a1", alice, 1)
    add(store, "b1", "key-bob", 2)
    add(store, "a3", alice, 3)
    add(store, "a2x", alice, 2)
    add(store, "a2y", alice, 2)
    assert listed(store, TaskQuery(alice, limit=100)) == ["a3", "a2y", "a2x", "a1"]
    assert listed(store, TaskQuery("key-bob")) == ["b1"]
    assert listed(store, TaskQuery(alice, limit=2)) == ["a3", "a2y"]
    assert listed(store, TaskQuery(alice, limit=2, offset=2)) == ["a2x", "a1"]
    assert listed(store, TaskQuery(alice, limit=2, offset=4)) == []


def test_store_query_keyset_continues_after_the_cursor(store: AnyStore, alice: str) -> None:
    for task_id, seconds in (("a1", 1), ("a2x", 2), ("a2y", 2), ("a3", 3)):
        add(store, task_id, alice, seconds)
    assert listed(store, TaskQuery(alice, after=TaskCursor(at(2), "a2y"))) == ["a2x", "a1"]
    assert listed(store, TaskQuery(alice, after=TaskCursor(at(2), "a2x"))) == ["a1"]
    assert listed(store, TaskQuery(alice, after=TaskCursor(at(3), "a3"), limit=1)) == ["a2y"]
    assert listed(store, TaskQuery(alice, after=TaskCursor(at(1), "a1"))) == []
    # a cursor of a task that is not there (or of another key) still marks a position
    assert listed(store, TaskQuery(alice, after=TaskCursor(at(2.5), "zz"))) == ["a2y", "a2x", "a1"]


def test_store_query_filters(store: AnyStore, alice: str) -> None:
    add(store, "q1", alice, 1, model="viduq1")
    add(store, "v2", alice, 2, model="vidu2.0", state=TaskState.QUEUEING)
    add(store, "im", alice, 3, model="viduq2", kind=TaskKind.IMAGE, state=TaskState.SUCCESS)
    store.tasks.insert_task(replace(make_task("lo", alice, created_at=at(4)), spec=_at_720p(alice)))
    everything = TaskQuery(alice, limit=100)
    assert listed(store, replace(everything, task_ids=("q1", "im", "b-none"))) == ["im", "q1"]
    assert listed(store, replace(everything, task_ids=())) == []
    assert listed(store, replace(everything, states=(TaskState.QUEUEING, TaskState.SUCCESS))) == ["im", "v2"]
    assert listed(store, replace(everything, states=())) == []
    assert listed(store, replace(everything, models=("viduq1", "vidu2.0"))) == ["v2", "q1"]
    assert listed(store, replace(everything, models=("q1",))) == []
    assert listed(store, replace(everything, resolutions=("720p",))) == ["lo"]
    assert listed(store, replace(everything, created_from=at(2), created_to=at(4))) == ["im", "v2"]
    assert listed(store, replace(everything, created_from=at(4))) == ["lo"]
    assert listed(store, replace(everything, created_to=at(1))) == []
    assert listed(store, replace(everything, models=("viduq1",), states=(TaskState.CREATED,))) == ["q1"]
    assert listed(store, replace(everything, models=("viduq1",), resolutions=("1080p",))) == ["q1"]
    assert listed(store, replace(everything, models=("viduq1",), states=(TaskState.QUEUEING,))) == []


def _at_720p(key: str) -> TaskSpec:
    return replace(make_task("x", key).spec, model="viduq2", resolution="720p")


def test_store_query_returns_whole_tasks(store: AnyStore, alice: str) -> None:
    task = make_task("t1", alice, created_at=at(1))
    task.image_sources = ["https://example.test/a.png"]
    store.tasks.insert_task(task)
    assert store.tasks.query_tasks(TaskQuery(alice)) == [task]


def test_store_key_usage_sums_credits_and_counts_states(store: AnyStore, alice: str) -> None:
    assert store.tasks.key_usage(alice) == KeyUsage(balance=100)
    assert store.tasks.key_usage("key-bob") == KeyUsage(balance=None)
    for n, credits in enumerate((5, 7, 11, 13)):
        store.tasks.insert_task(make_task(f"t{n}", alice, created_at=at(n), credits=credits))
    store.tasks.insert_task(make_task("bob1", "key-bob", created_at=at(20), credits=50))
    store.tasks.mark_queueing("t1")
    assert store.tasks.key_usage(alice) == KeyUsage(balance=100, held=36, waiting=4)

    claimed = store.queue.claim("w", None, LEASE, at(10))  # t0, the oldest
    assert claimed is not None and claimed.id == "t0"
    assert store.tasks.key_usage(alice) == KeyUsage(balance=100, held=36, processing=1, waiting=3)
    video = Creation("c", "m.mp4", "c.jpg", None, 1920, 1080, 5.0, 24)
    assert store.queue.complete("t0", "w", [video], at(11))
    assert store.tasks.key_usage(alice) == KeyUsage(balance=95, charged=5, held=31, waiting=3)

    store.tasks.request_cancel("t2", at(12))  # failed: neither charged nor held
    assert store.tasks.key_usage(alice) == KeyUsage(balance=95, charged=5, held=20, waiting=2)
    assert store.tasks.key_usage("key-bob") == KeyUsage(balance=None, held=50, waiting=1)
    assert store.tasks.key_usage("no-such-key") == KeyUsage()
