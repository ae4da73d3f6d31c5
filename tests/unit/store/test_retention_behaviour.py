"""Retention, on both stores: which tasks a sweep removes, in what order, with what, and when not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from refgen.domain import Creation, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import FileStoreError
from refgen.store.base import DeliveryStatus
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0
HOOK = "https://hooks.example/cb"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def creation(task_id: str) -> Creation:
    return Creation(
        id=f"c-{task_id}",
        media_key=f"tasks/{task_id}/out1/video.mp4",
        cover_key=f"tasks/{task_id}/out1/cover.jpg",
        watermarked_key=None,
        width=1920,
        height=1080,
        duration=5.0,
        fps=24,
    )


@pytest.fixture
def paying_key(store: AnyStore) -> str:
    key = make_api_key("alice", credits=1000)
    store.keys.add_key(key)
    return key.id


def finished(store: AnyStore, key: str, tid: str, end: float, how: str = "success", hook: str = "") -> None:
    """Insert task ``tid`` and end it at ``at(end)``: ``success``, ``failed`` or ``cancelled``."""
    store.tasks.insert_task(make_task(tid, key, created_at=at(end - 1), callback_url=hook))
    if how == "cancelled":
        store.tasks.request_cancel(tid, at(end))
        return
    claimed = store.queue.claim("w1", None, LEASE, at(end - 1))
    assert claimed is not None and claimed.id == tid
    if how == "success":
        assert store.queue.complete(tid, "w1", [creation(tid)], at(end))
    else:
        assert store.queue.fail(tid, "w1", ErrCode.INTERNAL_SERVICE_FAILURE, at(end))


class Discarded:
    """A ``discard_files`` that records each batch and checks that its rows are still there."""

    def __init__(self, store: AnyStore) -> None:
        self.store = store
        self.batches: list[list[str]] = []

    def __call__(self, task_ids: Sequence[str]) -> None:
        assert all(self.store.tasks.get_task(task_id) is not None for task_id in task_ids)
        self.batches.append(list(task_ids))


def test_retention_sweeps_finished_tasks_oldest_first(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "ok", 10)
    finished(store, paying_key, "bad", 30, "failed")
    finished(store, paying_key, "gone", 20, "cancelled")
    finished(store, paying_key, "young", 100)
    discard = Discarded(store)

    assert store.retention.sweep_finished(at(50), 10, discard) == ["ok", "gone", "bad"]

    assert discard.batches == [["ok", "gone", "bad"]]  # files before rows: the rows were still there
    assert [store.tasks.get_task(t) for t in ("ok", "bad", "gone")] == [None, None, None]
    assert [t.id for t in store.tasks.list_tasks(paying_key)] == ["young"]
    assert store.retention.sweep_finished(at(50), 10, discard) == []  # a second sweep finds nothing
    assert len(discard.batches) == 1


def test_retention_cutoff_is_exclusive(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "t1", 10)
    assert store.retention.sweep_finished(at(10), 10, Discarded(store)) == []
    assert store.retention.sweep_finished(at(10.001), 10, Discarded(store)) == ["t1"]


def test_retention_takes_at_most_limit_tasks_per_call(store: AnyStore, paying_key: str) -> None:
    for n in range(5):
        finished(store, paying_key, f"t{n}", 20 - n)  # t4 finished first
    discard = Discarded(store)
    assert store.retention.sweep_finished(at(100), 2, discard) == ["t4", "t3"]
    assert store.retention.sweep_finished(at(100), 2, discard) == ["t2", "t1"]
    assert store.retention.sweep_finished(at(100), 2, discard) == ["t0"]
    assert discard.batches == [["t4", "t3"], ["t2", "t1"], ["t0"]]


def test_retention_never_takes_waiting_or_processing_tasks(store: AnyStore, paying_key: str) -> None:
    store.tasks.insert_task(make_task("waiting", paying_key, created_at=at(0)))
    store.tasks.insert_task(make_task("running", paying_key, created_at=at(1)))
    store.tasks.mark_queueing("waiting")
    assert store.queue.claim("w1", None, LEASE, at(2)) is not None  # takes "waiting", the oldest
    store.tasks.insert_task(make_task("queued", paying_key, created_at=at(3)))
    store.tasks.mark_queueing("queued")
    assert store.retention.sweep_finished(at(10**7), 10, Discarded(store)) == []
    assert sorted(t.id for t in store.tasks.list_tasks(paying_key)) == ["queued", "running", "waiting"]


def test_retention_removes_callback_deliveries_with_their_attempts(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "t1", 10, hook=HOOK)
    deliveries = store.outbox.list_deliveries("t1")
    assert [d.state for d in deliveries] == [TaskState.PROCESSING, TaskState.SUCCESS]
    for delivery in deliveries:
        store.outbox.record_attempt(
            delivery.id, at(11), status_code=200, error=None, delivered=True, next_attempt_at=None
        )

    assert store.retention.sweep_finished(at(50), 10, Discarded(store)) == ["t1"]

    assert store.outbox.list_deliveries("t1") == []
    assert [store.outbox.get_delivery(d.id) for d in deliveries] == [None, None]
    assert store.outbox.claim_deliveries(at(10**6), 10, 60) == []


def test_retention_waits_for_a_pending_callback(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "t1", 10, hook=HOOK)
    finished(store, paying_key, "t2", 11)
    assert store.retention.sweep_finished(at(50), 10, Discarded(store)) == ["t2"]
    assert store.tasks.get_task("t1") is not None

    for delivery in store.outbox.list_deliveries("t1"):  # given up: no longer pending
        store.outbox.record_attempt(
            delivery.id, at(12), status_code=500, error=None, delivered=False, next_attempt_at=None
        )
    assert {d.status for d in store.outbox.list_deliveries("t1")} == {DeliveryStatus.FAILED}
    assert store.retention.sweep_finished(at(50), 10, Discarded(store)) == ["t1"]


def test_retention_deletes_no_row_when_discarding_files_fails(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "t1", 10)

    def broken(task_ids: Sequence[str]) -> None:
        raise FileStoreError("the bucket is unreachable")

    with pytest.raises(FileStoreError):
        store.retention.sweep_finished(at(50), 10, broken)
    assert store.tasks.get_task("t1") is not None
    assert store.retention.sweep_finished(at(50), 10, Discarded(store)) == ["t1"]


def test_retention_keeps_what_a_key_was_charged(store: AnyStore, paying_key: str) -> None:
    finished(store, paying_key, "paid", 10)
    finished(store, paying_key, "refunded", 11, "failed")
    store.tasks.insert_task(make_task("waiting", paying_key, created_at=at(12)))
    before = store.tasks.key_usage(paying_key)
    assert (before.balance, before.charged, before.held) == (992, 8, 8)

    assert store.retention.sweep_finished(at(50), 10, Discarded(store)) == ["paid", "refunded"]

    assert store.tasks.key_usage(paying_key) == before
    key = store.keys.key_by_id(paying_key)
    assert key is not None and key.credits == 992
    other = make_api_key("bob")
    store.keys.add_key(other)
    assert store.tasks.key_usage(other.id).charged == 0


def test_retention_two_sweeps_at_once_remove_each_task_once(store: AnyStore, paying_key: str) -> None:
    """A second sweep runs while the first discards files: between them every task is removed
    exactly once (on PostgreSQL the second skips the rows the first holds; elsewhere it takes them
    and the first finds them gone)."""
    for n in range(4):
        finished(store, paying_key, f"t{n}", 10 + n)
    inner: list[list[str]] = []

    def discard_and_race(task_ids: Sequence[str]) -> None:
        if not inner:
            inner.append(store.retention.sweep_finished(at(50), 10, lambda ids: None))

    outer = store.retention.sweep_finished(at(50), 10, discard_and_race)

    assert len(inner) == 1
    assert sorted(outer + inner[0]) == ["t0", "t1", "t2", "t3"]
    assert [t.id for t in store.tasks.list_tasks(paying_key)] == []
