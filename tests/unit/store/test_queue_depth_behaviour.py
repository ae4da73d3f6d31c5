"""``queue_depth``, the grouped read ``/metrics`` makes at each scrape, against each store (see
conftest's ``store`` fixture): unfinished tasks counted by state, kind and model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from refgen.domain import Creation, TaskKind, TaskState
from refgen.store.base import QueueCount
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_queue_depth_of_an_empty_store_is_empty(store: AnyStore) -> None:
    assert store.tasks.queue_depth() == []


def test_queue_depth_counts_unfinished_tasks_by_state_kind_and_model(store: AnyStore) -> None:
    key = make_api_key("alice")
    store.keys.add_key(key)
    for i in range(3):
        store.tasks.insert_task(make_task(f"v{i}", key.id, created_at=at(i)))
    store.tasks.mark_queueing("v0")
    store.tasks.insert_task(make_task("i0", key.id, created_at=at(5), kind=TaskKind.IMAGE, model="viduq2"))
    store.tasks.insert_task(make_task("v9", key.id, created_at=at(6), model="vidu2.0"))
    claimed = store.queue.claim("w1", [(TaskKind.VIDEO, "viduq1")], 30.0, at(10))
    assert claimed is not None and claimed.id == "v0"
    store.tasks.request_cancel("v9", at(11))  # finished: not counted
    done = store.queue.claim("w2", [(TaskKind.IMAGE, "viduq2")], 30.0, at(12))
    assert done is not None
    creation = Creation(id="c", media_key="k", cover_key="k", watermarked_key=None, width=1, height=1)
    assert store.queue.complete(done.id, "w2", [creation], at(13))

    assert sorted(store.tasks.queue_depth(), key=lambda g: (g.state, g.kind, g.model)) == [
        QueueCount(TaskState.CREATED, TaskKind.VIDEO, "viduq1", 2),
        QueueCount(TaskState.PROCESSING, TaskKind.VIDEO, "viduq1", 1),
    ]
