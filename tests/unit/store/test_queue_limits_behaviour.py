"""The queue limits of ``insert_task``, with tiny limits, run against each store (see conftest's
``store`` fixture): waiting tasks that are not off-peak count, per key and for the whole server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen.err_codes import ErrCode
from refgen.errors import KeyQueueFull, SystemThrottling, TooManyRequests
from refgen.store.base import QueueLimits
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def keys(store: AnyStore) -> tuple[str, str]:
    alice, bob = make_api_key("alice", credits=100), make_api_key("bob")
    store.keys.add_key(alice)
    store.keys.add_key(bob)
    return alice.id, bob.id


def test_queue_limits_refuse_a_keys_task_past_its_limit(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, bob = keys
    limits = QueueLimits(total=10, per_key=2)
    store.tasks.insert_task(make_task("a1", alice, credits=8), limits)
    store.tasks.mark_queueing("a1")  # queueing counts as waiting, like created
    store.tasks.insert_task(make_task("a2", alice, credits=8, created_at=at(1)), limits)
    with pytest.raises(KeyQueueFull) as refused:
        store.tasks.insert_task(make_task("a3", alice, credits=8, created_at=at(2)), limits)
    assert isinstance(refused.value, TooManyRequests) and refused.value.reason is ErrCode.TOO_MANY_REQUESTS
    assert store.tasks.get_task("a3") is None
    assert store.tasks.key_usage(alice).held == 16  # the refused task holds no credits
    store.tasks.insert_task(make_task("b1", bob, created_at=at(3)), limits)  # another key is not held up
    store.tasks.insert_task(make_task("a4", alice, created_at=at(4)))  # without limits, nothing is refused


def test_queue_limits_refuse_any_task_past_the_servers_limit(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, bob = keys
    limits = QueueLimits(total=3, per_key=10)
    store.tasks.insert_task(make_task("a1", alice), limits)
    store.tasks.insert_task(make_task("a2", alice, created_at=at(1)), limits)
    store.tasks.insert_task(make_task("b1", bob, created_at=at(2)), limits)
    for task_id, key_id in (("b2", bob), ("a3", alice)):
        with pytest.raises(SystemThrottling) as refused:
            store.tasks.insert_task(make_task(task_id, key_id, created_at=at(3)), limits)
        assert refused.value.reason is ErrCode.SYSTEM_THROTTLING
        assert store.tasks.get_task(task_id) is None
    store.tasks.request_cancel("a1", at(4))  # a cancelled task no longer waits
    store.tasks.insert_task(make_task("b2", bob, created_at=at(5)), limits)


def test_queue_limits_neither_count_nor_limit_off_peak_tasks(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, bob = keys
    limits = QueueLimits(total=1, per_key=1)
    for i in range(3):
        store.tasks.insert_task(make_task(f"o{i}", alice, off_peak=True, created_at=at(i)), limits)
    store.tasks.insert_task(make_task("a1", alice, created_at=at(5)), limits)
    store.tasks.insert_task(make_task("o3", bob, off_peak=True, created_at=at(6)), limits)
    with pytest.raises(SystemThrottling):
        store.tasks.insert_task(make_task("b1", bob, created_at=at(7)), limits)


def test_queue_limits_count_neither_processing_nor_finished_tasks(
    store: AnyStore, keys: tuple[str, str]
) -> None:
    alice, _ = keys
    limits = QueueLimits(total=1, per_key=1)
    store.tasks.insert_task(make_task("t1", alice), limits)
    claimed = store.queue.claim("w", None, LEASE, at(1))
    assert claimed is not None and claimed.id == "t1"
    store.tasks.insert_task(make_task("t2", alice, created_at=at(2)), limits)  # t1 is processing
    with pytest.raises(KeyQueueFull):
        store.tasks.insert_task(make_task("t3", alice, created_at=at(3)), limits)
    assert store.queue.complete("t1", "w", [], at(4))
    claimed = store.queue.claim("w", None, LEASE, at(5))
    assert claimed is not None and claimed.id == "t2"
    assert store.queue.fail("t2", "w", ErrCode.INTERNAL_SERVICE_FAILURE, at(6))
    store.tasks.insert_task(make_task("t3", alice, created_at=at(7)), limits)  # t1 success, t2 failed


def test_queue_limits_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QueueLimits(total=0, per_key=1)
    with pytest.raises(ValueError, match="at least 1"):
        QueueLimits(total=1, per_key=0)
