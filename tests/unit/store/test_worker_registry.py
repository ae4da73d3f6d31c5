"""Worker registration, on every store: alive, silent, stopped; the reaper spares live workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from refgen.domain import TaskState
from refgen.store.base import WorkerInfo
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def worker(worker_id: str, at: datetime = T0) -> WorkerInfo:
    return WorkerInfo(worker_id, "gpu-1", 4242, ("viduq1", "vidu2.0"), at, at)


def test_registry_register_seen_stopped_list(store: AnyStore) -> None:
    store.workers.register_worker(worker("w1"))
    store.workers.register_worker(worker("w2", T0 + timedelta(seconds=1)))
    store.workers.worker_seen("w1", T0 + timedelta(seconds=20))
    store.workers.worker_stopped("w2", T0 + timedelta(seconds=21))
    listed = {w.id: w for w in store.workers.list_workers()}
    assert [w.id for w in store.workers.list_workers()] == ["w2", "w1"]
    assert listed["w1"].last_seen_at == T0 + timedelta(seconds=20) and listed["w1"].models == (
        "viduq1",
        "vidu2.0",
    )
    assert listed["w2"].stopped_at == T0 + timedelta(seconds=21)
    now = T0 + timedelta(seconds=40)
    assert listed["w1"].alive(now, 30) and not listed["w1"].alive(now, 10) and not listed["w2"].alive(now, 30)
    store.workers.worker_seen("w2", now)  # a stopped worker stays stopped
    assert {w.id: w for w in store.workers.list_workers()}["w2"].last_seen_at == T0 + timedelta(seconds=1)


def test_registry_re_registering_revives_a_worker(store: AnyStore) -> None:
    store.workers.register_worker(worker("w1"))
    store.workers.worker_stopped("w1", T0 + timedelta(seconds=5))
    store.workers.register_worker(worker("w1", T0 + timedelta(seconds=9)))
    [again] = store.workers.list_workers()
    assert again.stopped_at is None and again.last_seen_at == T0 + timedelta(seconds=9)


def _claimed(store: AnyStore, worker_id: str) -> str:
    key = make_api_key("k")
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("t1", key.id, created_at=T0))
    task = store.queue.claim(worker_id, None, 5, T0)
    assert task is not None
    return task.id


def test_reap_spares_a_task_whose_worker_is_alive(store: AnyStore) -> None:
    task_id = _claimed(store, "w1")
    store.workers.register_worker(worker("w1"))
    later = T0 + timedelta(seconds=20)  # the lease (5 s) ran out, but the worker was just seen
    store.workers.worker_seen("w1", later)
    assert store.queue.reap(later, 3, 3600, worker_timeout=30) == []
    assert store.tasks.get_task(task_id).state is TaskState.PROCESSING  # type: ignore[union-attr]


def test_reap_rescues_a_task_whose_worker_went_silent(store: AnyStore) -> None:
    task_id = _claimed(store, "w1")
    store.workers.register_worker(worker("w1"))
    later = T0 + timedelta(seconds=60)
    assert store.queue.reap(later, 3, 3600, worker_timeout=30) == [task_id]
    assert store.tasks.get_task(task_id).state is TaskState.QUEUEING  # type: ignore[union-attr]


def test_reap_rescues_a_task_of_a_stopped_or_unregistered_worker(store: AnyStore) -> None:
    task_id = _claimed(store, "w1")
    store.workers.register_worker(worker("w1"))
    store.workers.worker_stopped("w1", T0 + timedelta(seconds=1))
    assert store.queue.reap(T0 + timedelta(seconds=6), 3, 3600, worker_timeout=30) == [task_id]
