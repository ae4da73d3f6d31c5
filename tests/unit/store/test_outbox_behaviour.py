"""The callback outbox, on both stores: which transitions queue a callback, and the delivery life cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen.domain import TaskState
from refgen.err_codes import ErrCode
from refgen.store.base import CallbackDelivery, DeliveryStatus
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0
HOOK = "https://hooks.example/cb?b=2&a=1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def key_id(store: AnyStore) -> str:
    key = make_api_key("alice")
    store.keys.add_key(key)
    return key.id


def events(store: AnyStore, task_id: str) -> list[tuple[TaskState, datetime]]:
    return [(d.state, d.created_at) for d in store.outbox.list_deliveries(task_id)]


def add(store: AnyStore, key_id: str, task_id: str = "t1", **kwargs: object) -> None:
    store.tasks.insert_task(make_task(task_id, key_id, callback_url=HOOK, **kwargs))  # type: ignore[arg-type]


def only(store: AnyStore, task_id: str = "t1") -> CallbackDelivery:
    (delivery,) = store.outbox.list_deliveries(task_id)
    return delivery


# --- which transitions queue a callback ----------------------------------------------------------


def test_outbox_claim_queues_processing(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    assert store.queue.claim("w1", None, LEASE, at(1)) is not None
    delivery = only(store)
    assert (delivery.task_id, delivery.key_id, delivery.state, delivery.url) == (
        "t1",
        key_id,
        TaskState.PROCESSING,
        HOOK,
    )
    assert (delivery.status, delivery.attempts, delivery.round_attempts) == (DeliveryStatus.PENDING, 0, 0)
    assert delivery.next_attempt_at == delivery.created_at == at(1)
    assert delivery.progress == 0 and delivery.history == () and delivery.delivered_at is None


def test_outbox_nothing_queued_without_callback_url(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    store.queue.claim("w1", None, LEASE, at(1))
    store.queue.complete("t1", "w1", [], at(2))
    assert store.outbox.list_deliveries() == []


def test_outbox_complete_queues_success(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(1))
    assert store.queue.complete("t1", "w1", [], at(2))
    assert events(store, "t1") == [(TaskState.PROCESSING, at(1)), (TaskState.SUCCESS, at(2))]
    assert store.outbox.list_deliveries("t1")[1].progress == 100


def test_outbox_complete_of_cancelled_task_queues_failed(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(1))
    store.tasks.request_cancel("t1", at(2))
    assert events(store, "t1") == [(TaskState.PROCESSING, at(1))]  # still processing: nothing yet
    assert not store.queue.complete("t1", "w1", [], at(3))
    assert events(store, "t1") == [(TaskState.PROCESSING, at(1)), (TaskState.FAILED, at(3))]


def test_outbox_fail_queues_failed(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(1))
    assert store.queue.fail("t1", "w1", ErrCode.INTERNAL_SERVICE_FAILURE, at(2))
    assert events(store, "t1") == [(TaskState.PROCESSING, at(1)), (TaskState.FAILED, at(2))]


def test_outbox_lost_lease_queues_nothing(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(1))
    assert not store.queue.complete("t1", "someone-else", [], at(2))
    assert not store.queue.fail("t1", "someone-else", "x", at(2))
    assert events(store, "t1") == [(TaskState.PROCESSING, at(1))]


def test_outbox_cancel_of_waiting_task_queues_failed(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.tasks.request_cancel("t1", at(1))
    assert events(store, "t1") == [(TaskState.FAILED, at(1))]


def test_outbox_reap_queues_failed_only_when_the_task_ends(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(0))
    assert store.queue.reap(at(LEASE + 1), 2, 3600) == ["t1"]  # requeued: no callback
    assert events(store, "t1") == [(TaskState.PROCESSING, at(0))]
    store.queue.claim("w2", None, LEASE, at(40))
    assert store.queue.reap(at(40 + LEASE + 1), 2, 3600) == ["t1"]  # second attempt used up: failed
    assert [e for e, _ in events(store, "t1")] == [
        TaskState.PROCESSING,
        TaskState.PROCESSING,
        TaskState.FAILED,
    ]


def test_outbox_reap_of_cancel_flagged_task_queues_failed(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(0))
    store.tasks.request_cancel("t1", at(1))
    store.queue.reap(at(LEASE + 1), 5, 3600)
    assert events(store, "t1")[-1] == (TaskState.FAILED, at(LEASE + 1))


def test_outbox_off_peak_expiry_queues_failed(store: AnyStore, key_id: str) -> None:
    add(store, key_id, off_peak=True, created_at=at(0))
    assert store.queue.reap(at(100), 3, 50) == ["t1"]
    assert events(store, "t1") == [(TaskState.FAILED, at(100))]


def test_outbox_release_worker_queues_failed_past_max_attempts(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    add(store, key_id, "t2", created_at=at(1))
    store.queue.claim("w1", None, LEASE, at(2))
    assert store.queue.release_worker("w1", at(3), max_attempts=2) == ["t1"]  # requeued
    store.queue.claim("w1", None, LEASE, at(4))
    assert store.queue.release_worker("w1", at(5), max_attempts=1) == ["t1"]  # failed now
    assert [e for e, _ in events(store, "t1")] == [
        TaskState.PROCESSING,
        TaskState.PROCESSING,
        TaskState.FAILED,
    ]
    assert events(store, "t2") == []


# --- taking and recording deliveries -----------------------------------------------------------


def queued(store: AnyStore, key_id: str, n: int) -> list[str]:
    """``n`` tasks cancelled while waiting: one ``failed`` delivery each, due at 0, 1, 2 ..."""
    for i in range(n):
        add(store, key_id, f"t{i}", created_at=at(i))
        store.tasks.request_cancel(f"t{i}", at(i))
    return [only(store, f"t{i}").id for i in range(n)]


def test_outbox_claim_takes_due_deliveries_oldest_first(store: AnyStore, key_id: str) -> None:
    ids = queued(store, key_id, 4)
    assert store.outbox.claim_deliveries(at(-1), 10, LEASE) == []  # none due yet
    taken = store.outbox.claim_deliveries(at(2), 2, LEASE)
    assert [d.id for d in taken] == ids[:2]
    assert all(d.locked_until == at(2 + LEASE) for d in taken)
    assert [d.id for d in store.outbox.claim_deliveries(at(2), 10, LEASE)] == [
        ids[2]
    ]  # held ones are skipped
    assert [d.id for d in store.outbox.claim_deliveries(at(10), 10, LEASE)] == [ids[3]]


def test_outbox_claim_keeps_a_tasks_callbacks_in_order(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    store.queue.claim("w1", None, LEASE, at(1))
    store.queue.complete("t1", "w1", [], at(2))
    add(store, key_id, "t2", created_at=at(3))
    store.tasks.request_cancel("t2", at(3))
    processing, success = store.outbox.list_deliveries("t1")
    (other,) = store.outbox.list_deliveries("t2")
    # success waits while processing is pending; another task's callback does not
    assert [d.id for d in store.outbox.claim_deliveries(at(5), 10, LEASE)] == [processing.id, other.id]
    assert store.outbox.claim_deliveries(at(5), 10, LEASE) == []  # processing is held: success still waits
    store.outbox.record_attempt(
        processing.id, at(6), status_code=500, error=None, delivered=False, next_attempt_at=at(9)
    )
    assert (
        store.outbox.claim_deliveries(at(6), 10, LEASE) == []
    )  # processing waits for a retry: so does success
    store.outbox.record_attempt(
        processing.id, at(7), status_code=200, error=None, delivered=True, next_attempt_at=None
    )
    assert [d.id for d in store.outbox.claim_deliveries(at(7), 10, LEASE)] == [success.id]


def test_outbox_claim_again_after_the_lease_runs_out(store: AnyStore, key_id: str) -> None:
    (delivery_id,) = queued(store, key_id, 1)
    assert len(store.outbox.claim_deliveries(at(0), 10, LEASE)) == 1
    assert store.outbox.claim_deliveries(at(LEASE - 1), 10, LEASE) == []
    assert [d.id for d in store.outbox.claim_deliveries(at(LEASE), 10, LEASE)] == [delivery_id]


def test_outbox_record_delivered(store: AnyStore, key_id: str) -> None:
    (delivery_id,) = queued(store, key_id, 1)
    store.outbox.claim_deliveries(at(0), 10, LEASE)
    after = store.outbox.record_attempt(
        delivery_id, at(1), status_code=204, error=None, delivered=True, next_attempt_at=None
    )
    assert after is not None
    assert (after.status, after.attempts, after.round_attempts) == (DeliveryStatus.DELIVERED, 1, 1)
    assert (after.delivered_at, after.next_attempt_at, after.locked_until) == (at(1), None, None)
    assert (after.last_status_code, after.last_error) == (204, None)
    assert [(a.number, a.at, a.status_code, a.error) for a in after.history] == [(1, at(1), 204, None)]
    assert store.outbox.get_delivery(delivery_id) == after
    assert store.outbox.claim_deliveries(at(1000), 10, LEASE) == []


def test_outbox_record_failure_schedules_retry_then_gives_up(store: AnyStore, key_id: str) -> None:
    (delivery_id,) = queued(store, key_id, 1)
    store.outbox.claim_deliveries(at(0), 10, LEASE)
    after = store.outbox.record_attempt(
        delivery_id, at(1), status_code=500, error=None, delivered=False, next_attempt_at=at(6)
    )
    assert after is not None
    assert (after.status, after.next_attempt_at, after.locked_until) == (DeliveryStatus.PENDING, at(6), None)
    assert store.outbox.claim_deliveries(at(5), 10, LEASE) == []
    assert [d.round_attempts for d in store.outbox.claim_deliveries(at(6), 10, LEASE)] == [1]
    after = store.outbox.record_attempt(
        delivery_id,
        at(7),
        status_code=None,
        error="connection refused",
        delivered=False,
        next_attempt_at=None,
    )
    assert after is not None
    assert (after.status, after.next_attempt_at, after.attempts) == (DeliveryStatus.FAILED, None, 2)
    assert (after.last_status_code, after.last_error) == (None, "connection refused")
    assert [(a.number, a.status_code, a.error) for a in after.history] == [
        (1, 500, None),
        (2, None, "connection refused"),
    ]
    assert store.outbox.claim_deliveries(at(1000), 10, LEASE) == []


def test_outbox_late_failure_does_not_undo_delivered(store: AnyStore, key_id: str) -> None:
    (delivery_id,) = queued(store, key_id, 1)
    store.outbox.record_attempt(
        delivery_id, at(1), status_code=200, error=None, delivered=True, next_attempt_at=None
    )
    after = store.outbox.record_attempt(
        delivery_id, at(2), status_code=None, error="timed out", delivered=False, next_attempt_at=None
    )
    assert after is not None and after.status is DeliveryStatus.DELIVERED and after.attempts == 2


def test_outbox_unknown_delivery(store: AnyStore) -> None:
    assert store.outbox.get_delivery("nope") is None
    assert store.outbox.redeliver("nope", at(0)) is None
    assert (
        store.outbox.record_attempt(
            "nope", at(0), status_code=200, error=None, delivered=True, next_attempt_at=None
        )
        is None
    )


def test_outbox_redeliver_starts_a_new_round(store: AnyStore, key_id: str) -> None:
    (delivery_id,) = queued(store, key_id, 1)
    store.outbox.record_attempt(
        delivery_id, at(1), status_code=500, error=None, delivered=False, next_attempt_at=None
    )
    again = store.outbox.redeliver(delivery_id, at(50))
    assert again is not None
    assert (again.status, again.next_attempt_at, again.attempts, again.round_attempts) == (
        DeliveryStatus.PENDING,
        at(50),
        1,
        0,
    )
    assert [d.id for d in store.outbox.claim_deliveries(at(50), 10, LEASE)] == [delivery_id]
    after = store.outbox.record_attempt(
        delivery_id, at(51), status_code=200, error=None, delivered=True, next_attempt_at=None
    )
    assert after is not None and [a.number for a in after.history] == [1, 2]
    redone = store.outbox.redeliver(delivery_id, at(60))  # a delivered one can be sent again too
    assert redone is not None and redone.status is DeliveryStatus.PENDING and redone.delivered_at is None


def test_outbox_list_newest_n_oldest_first(store: AnyStore, key_id: str) -> None:
    ids = queued(store, key_id, 5)
    assert [d.id for d in store.outbox.list_deliveries()] == ids
    assert [d.id for d in store.outbox.list_deliveries(limit=2)] == ids[3:]
    assert [d.id for d in store.outbox.list_deliveries("t1")] == [ids[1]]
    assert store.outbox.list_deliveries("nope") == []


def test_outbox_list_includes_history(store: AnyStore, key_id: str) -> None:
    ids = queued(store, key_id, 2)
    store.outbox.record_attempt(
        ids[1], at(3), status_code=503, error=None, delivered=False, next_attempt_at=at(9)
    )
    listed = store.outbox.list_deliveries()
    assert [len(d.history) for d in listed] == [0, 1]
    assert listed[1].history[0].status_code == 503


def test_outbox_revoked_key_keeps_its_deliveries(store: AnyStore, key_id: str) -> None:
    add(store, key_id)
    assert store.keys.revoke_key("alice", at(0))
    store.tasks.request_cancel("t1", at(1))
    delivery = only(store)
    assert delivery.key_id == key_id
    key = store.keys.key_by_id(delivery.key_id)
    assert key is not None and key.revoked_at is not None
