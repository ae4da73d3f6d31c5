"""The behaviour both stores share, run against each (see conftest's ``store`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from refgen.domain import Creation, Task, TaskKind, TaskSpec, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import (
    CreditInsufficient,
    FieldInvalid,
    StoreError,
    TaskNotCancellable,
    TaskNotFound,
    Unauthorized,
)
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0
HOURS_48 = 48 * 3600.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def creation(n: int, *, video: bool = True) -> Creation:
    return Creation(
        id=f"c{n}",
        media_key=f"tasks/t/out/{n}.mp4",
        cover_key=f"tasks/t/out/{n}.jpg",
        watermarked_key=f"tasks/t/out/{n}-wm.mp4" if video else None,
        width=1920,
        height=1080,
        duration=5.0 if video else None,
        fps=24 if video else None,
    )


@pytest.fixture
def key_id(store: AnyStore) -> str:
    key = make_api_key("alice")
    store.keys.add_key(key)
    return key.id


# --- tasks: insert and read ---------------------------------------------------------------------


def test_store_round_trip_keeps_every_field(store: AnyStore, key_id: str) -> None:
    plus8 = timezone(timedelta(hours=8))
    spec = TaskSpec(
        kind=TaskKind.IMAGE,
        model="viduq2",
        prompt="ünïcødé prompt ✓",
        image_count=3,
        duration=None,
        resolution="4K",
        aspect_ratio="21:9",
        movement_amplitude=None,
        bgm=True,
        seed=2147483647,
        off_peak=True,
        watermark=True,
        wm_position=1,
        payload='{"x": [1, 2]}',
        callback_url="https://example.com/cb?a=1",
        meta_data="meta",
        credits=2,
    )
    task = Task(
        id="t-1",
        key_id=key_id,
        spec=spec,
        reference_keys=["a/0.png", "a/1.webp", "a/2.jpg"],
        watermark_key="a/wm.png",
        state=TaskState.QUEUEING,
        created_at=datetime(2025, 3, 1, 20, 0, 0, 123456, tzinfo=plus8),
        err_code="",
        progress=37,
        attempts=2,
        started_at=at(5),
        finished_at=None,
        worker_id="w-old",
        lease_expires_at=at(35),
        cancel_requested=False,
        creations=[creation(1), creation(2, video=False)],
    )
    store.tasks.insert_task(task)
    got = store.tasks.get_task("t-1")
    assert got == task
    assert got is not None
    assert got.created_at.tzinfo is UTC
    assert got.created_at == datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert got.started_at is not None and got.started_at.tzinfo is UTC


def test_store_get_task_unknown_is_none(store: AnyStore) -> None:
    assert store.tasks.get_task("nope") is None


def test_store_returned_task_is_a_copy(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    got = store.tasks.get_task("t1")
    assert got is not None
    got.state = TaskState.SUCCESS
    got.reference_keys.append("x")
    again = store.tasks.get_task("t1")
    assert again is not None
    assert again.state is TaskState.CREATED
    assert again.reference_keys == ["tasks/t1/refs/0.png"]


def test_store_insert_refuses_duplicate_id_and_unknown_key(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    with pytest.raises(StoreError):
        store.tasks.insert_task(make_task("t1", key_id))
    with pytest.raises(StoreError):
        store.tasks.insert_task(make_task("t2", "no-such-key"))
    assert store.tasks.get_task("t2") is None


def test_store_refuses_naive_datetimes(store: AnyStore, key_id: str) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.tasks.insert_task(make_task("t1", key_id, created_at=datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="naive"):
        store.queue.claim("w", None, LEASE, datetime(2025, 1, 1))


def test_store_list_tasks_newest_first(store: AnyStore, key_id: str) -> None:
    other = make_api_key("bob")
    store.keys.add_key(other)
    for i in range(4):
        store.tasks.insert_task(make_task(f"t{i}", key_id, created_at=at(i)))
    store.tasks.insert_task(make_task("b0", other.id, created_at=at(10)))
    assert [t.id for t in store.tasks.list_tasks(key_id, limit=3)] == ["t3", "t2", "t1"]
    assert [t.id for t in store.tasks.list_tasks(other.id)] == ["b0"]


# --- credits -------------------------------------------------------------------------------------


def test_store_credit_check_counts_unfinished_tasks(store: AnyStore) -> None:
    key = make_api_key("payg", credits=20)
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("t1", key.id, credits=8))
    store.tasks.insert_task(make_task("t2", key.id, credits=8, created_at=at(1)))
    with pytest.raises(CreditInsufficient):
        store.tasks.insert_task(make_task("t3", key.id, credits=8, created_at=at(2)))
    assert store.tasks.get_task("t3") is None
    store.tasks.insert_task(make_task("t4", key.id, credits=4, created_at=at(3)))  # exactly covers: 20-16 = 4
    # a cancelled (failed) task no longer reserves its credits
    store.tasks.request_cancel("t1", at(5))
    store.tasks.insert_task(make_task("t5", key.id, credits=8, created_at=at(6)))


def test_store_insert_refuses_a_revoked_key(store: AnyStore) -> None:
    key = make_api_key("gone")
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("t1", key.id))
    assert store.keys.revoke_key("gone", at(1))
    with pytest.raises(Unauthorized):
        store.tasks.insert_task(make_task("t2", key.id, created_at=at(2)))
    assert store.tasks.get_task("t2") is None


def test_store_unlimited_key_is_never_refused(store: AnyStore, key_id: str) -> None:
    for i in range(5):
        store.tasks.insert_task(make_task(f"t{i}", key_id, credits=1_000_000))


def test_store_complete_charges_balance_and_fail_does_not(store: AnyStore) -> None:
    key = make_api_key("payg", credits=20, concurrency=5)
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("ok", key.id, credits=8))
    store.tasks.insert_task(make_task("bad", key.id, credits=4, created_at=at(1)))
    assert store.queue.claim("w", None, LEASE, at(2)) is not None
    assert store.queue.claim("w", None, LEASE, at(2)) is not None
    assert store.queue.fail("bad", "w", ErrCode.INTERNAL_SERVICE_FAILURE, at(3))
    assert store.queue.complete("ok", "w", [creation(1)], at(4))
    charged = store.keys.key_by_id(key.id)
    assert charged is not None and charged.credits == 12
    # the spent credits are gone, the failed task's are free again
    store.tasks.insert_task(make_task("next", key.id, credits=12, created_at=at(5)))
    with pytest.raises(CreditInsufficient):
        store.tasks.insert_task(make_task("more", key.id, credits=1, created_at=at(6)))


# --- claim ----------------------------------------------------------------------------------------


def test_store_claim_takes_normal_before_off_peak_then_oldest(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("off-old", key_id, off_peak=True, created_at=at(0)))
    store.tasks.insert_task(make_task("b-new", key_id, created_at=at(3)))
    store.tasks.insert_task(make_task("a-mid", key_id, created_at=at(2), state=TaskState.QUEUEING))
    store.tasks.insert_task(make_task("z-tie", key_id, created_at=at(1)))
    store.tasks.insert_task(make_task("y-tie", key_id, created_at=at(1)))
    order = [store.queue.claim("w", None, LEASE, at(10)) for _ in range(5)]
    assert [t.id if t else None for t in order] == ["y-tie", "z-tie", "a-mid", "b-new", "off-old"]
    assert store.queue.claim("w", None, LEASE, at(10)) is None


def test_store_claim_sets_lease_and_counts_attempts(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    task = store.queue.claim("worker-1", None, LEASE, at(10))
    assert task is not None
    assert task.state is TaskState.PROCESSING
    assert task.worker_id == "worker-1"
    assert task.started_at == at(10)
    assert task.lease_expires_at == at(10 + LEASE)
    assert task.attempts == 1
    assert store.tasks.get_task("t1") == task


def test_store_claim_on_empty_queue_is_none(store: AnyStore) -> None:
    assert store.queue.claim("w", None, LEASE, T0) is None


def test_store_claim_skips_cancel_flagged_and_finished(store: AnyStore, key_id: str) -> None:
    flagged = make_task("flagged", key_id, state=TaskState.QUEUEING)
    flagged.cancel_requested = True
    store.tasks.insert_task(flagged)
    store.tasks.insert_task(make_task("done", key_id, state=TaskState.SUCCESS))
    store.tasks.insert_task(make_task("gone", key_id, state=TaskState.FAILED))
    assert store.queue.claim("w", None, LEASE, T0) is None


def test_store_claim_respects_key_concurrency(store: AnyStore) -> None:
    busy = make_api_key("busy", concurrency=2)
    other = make_api_key("other")
    store.keys.add_key(busy)
    store.keys.add_key(other)
    for i in range(4):
        store.tasks.insert_task(make_task(f"busy{i}", busy.id, created_at=at(i)))
    store.tasks.insert_task(make_task("other0", other.id, created_at=at(100)))
    claimed = [store.queue.claim("w", None, LEASE, at(200)) for _ in range(4)]
    assert [t.id if t else None for t in claimed] == ["busy0", "busy1", "other0", None]
    # a finished task frees a slot
    assert store.queue.complete("busy0", "w", [], at(201))
    nxt = store.queue.claim("w", None, LEASE, at(202))
    assert nxt is not None and nxt.id == "busy2"
    assert store.queue.claim("w", None, LEASE, at(202)) is None


def test_store_claim_filters_models(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("q1", key_id, model="viduq1", created_at=at(0)))
    store.tasks.insert_task(make_task("q2", key_id, model="viduq2", created_at=at(1)))
    assert store.queue.claim("w", [], LEASE, T0) is None
    got = store.queue.claim("w", [(TaskKind.VIDEO, "viduq2"), (TaskKind.VIDEO, "vidu2.0")], LEASE, T0)
    assert got is not None and got.id == "q2"
    assert (
        store.queue.claim("w", [(TaskKind.VIDEO, "viduq2"), (TaskKind.IMAGE, "vidu2.0")], LEASE, T0) is None
    )
    got = store.queue.claim("w", None, LEASE, T0)
    assert got is not None and got.id == "q1"


# --- heartbeat, complete, fail ---------------------------------------------------------------------


def test_store_heartbeat_renews_lease_and_progress(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    beat = store.queue.heartbeat("t1", "w", 40, LEASE, at(20))
    assert beat.still_owner and not beat.cancel_requested
    task = store.tasks.get_task("t1")
    assert task is not None and task.progress == 40 and task.lease_expires_at == at(20 + LEASE)
    store.queue.heartbeat("t1", "w", 10, LEASE, at(21))  # never backwards
    store.queue.heartbeat("t1", "w", -5, LEASE, at(22))
    task = store.tasks.get_task("t1")
    assert task is not None and task.progress == 40
    store.queue.heartbeat("t1", "w", 250, LEASE, at(23))  # clamped
    task = store.tasks.get_task("t1")
    assert task is not None and task.progress == 100


def test_store_heartbeat_of_another_worker_changes_nothing(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    beat = store.queue.heartbeat("t1", "intruder", 50, LEASE, at(10))
    assert not beat.still_owner
    task = store.tasks.get_task("t1")
    assert task is not None and task.progress == 0 and task.lease_expires_at == at(LEASE)
    assert store.queue.heartbeat("unknown", "w", 1, LEASE, at(10)).still_owner is False


def test_store_heartbeat_reports_cancel_request(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    store.tasks.request_cancel("t1", at(5))
    beat = store.queue.heartbeat("t1", "w", 60, LEASE, at(6))
    assert beat.still_owner and beat.cancel_requested


def test_store_complete_stores_creations(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    assert not store.queue.complete("t1", "intruder", [creation(1)], at(5))
    assert store.queue.complete("t1", "w", [creation(1), creation(2)], at(10))
    task = store.tasks.get_task("t1")
    assert task is not None
    assert task.state is TaskState.SUCCESS
    assert task.progress == 100
    assert task.creations == [creation(1), creation(2)]
    assert task.finished_at == at(10)
    assert task.err_code == ""
    assert not store.queue.complete("t1", "w", [creation(3)], at(11))  # only once
    assert not store.queue.fail("t1", "w", ErrCode.INTERNAL_SERVICE_FAILURE, at(11))


def test_store_fail_records_err_code(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    assert not store.queue.fail("t1", "intruder", ErrCode.INTERNAL_SERVICE_FAILURE, at(5))
    assert store.queue.fail("t1", "w", ErrCode.INTERNAL_SERVICE_FAILURE, at(10))
    task = store.tasks.get_task("t1")
    assert task is not None
    assert (task.state, task.err_code, task.finished_at) == (
        TaskState.FAILED,
        "InternalServiceFailure",
        at(10),
    )
    assert task.charged_credits == 0


def test_store_complete_after_cancel_request_ends_cancelled(store: AnyStore) -> None:
    key = make_api_key("payg", credits=10)
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("t1", key.id, credits=8))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    store.tasks.request_cancel("t1", at(1))
    assert not store.queue.complete("t1", "w", [creation(1)], at(2))
    task = store.tasks.get_task("t1")
    assert task is not None
    assert (task.state, task.err_code, task.creations) == (TaskState.FAILED, "UserCancelled", [])
    charged = store.keys.key_by_id(key.id)
    assert charged is not None and charged.credits == 10


def test_store_fail_after_cancel_request_is_user_cancelled(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    store.tasks.request_cancel("t1", at(1))
    assert store.queue.fail("t1", "w", ErrCode.INTERNAL_SERVICE_FAILURE, at(2))
    task = store.tasks.get_task("t1")
    assert task is not None and task.err_code == "UserCancelled"


# --- cancel ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [TaskState.CREATED, TaskState.QUEUEING])
def test_store_cancel_waiting_task_fails_it_at_once(store: AnyStore, key_id: str, state: TaskState) -> None:
    store.tasks.insert_task(make_task("t1", key_id, state=state))
    task = store.tasks.request_cancel("t1", at(3))
    assert (task.state, task.err_code, task.finished_at) == (TaskState.FAILED, "UserCancelled", at(3))
    assert store.tasks.get_task("t1") == task
    assert store.queue.claim("w", None, LEASE, at(4)) is None


def test_store_cancel_processing_task_flags_it(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    task = store.tasks.request_cancel("t1", at(3))
    assert task.state is TaskState.PROCESSING and task.cancel_requested
    assert store.tasks.request_cancel("t1", at(4)).cancel_requested  # idempotent
    assert store.queue.fail("t1", "w", ErrCode.USER_CANCELLED, at(5))
    done = store.tasks.get_task("t1")
    assert done is not None and (done.state, done.err_code) == (TaskState.FAILED, "UserCancelled")


@pytest.mark.parametrize("state", [TaskState.SUCCESS, TaskState.FAILED])
def test_store_cancel_finished_task_is_refused(store: AnyStore, key_id: str, state: TaskState) -> None:
    store.tasks.insert_task(make_task("t1", key_id, state=state))
    with pytest.raises(TaskNotCancellable) as caught:
        store.tasks.request_cancel("t1", at(3))
    assert caught.value.message == f"task state is {state.value}, can not cancel"
    task = store.tasks.get_task("t1")
    assert task is not None and task.state is state and not task.cancel_requested


def test_store_cancel_unknown_task(store: AnyStore) -> None:
    with pytest.raises(TaskNotFound):
        store.tasks.request_cancel("nope", T0)


def test_store_mark_queueing(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    store.tasks.insert_task(make_task("t2", key_id, created_at=at(1)))
    store.tasks.mark_queueing("t1")
    task = store.tasks.get_task("t1")
    assert task is not None and task.state is TaskState.QUEUEING
    claimed = store.queue.claim("w", None, LEASE, at(2))
    assert claimed is not None and claimed.id == "t1"
    store.tasks.mark_queueing("t1")  # a worker took it already: no-op
    task = store.tasks.get_task("t1")
    assert task is not None and task.state is TaskState.PROCESSING
    store.tasks.mark_queueing("unknown")


# --- reap -----------------------------------------------------------------------------------------


def test_store_reap_requeues_expired_lease(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    store.queue.heartbeat("t1", "w", 30, LEASE, at(10))  # lease now until at(40)
    assert store.queue.reap(at(39), 3, HOURS_48) == []
    assert store.queue.reap(at(41), 3, HOURS_48) == ["t1"]
    task = store.tasks.get_task("t1")
    assert task is not None
    assert (task.state, task.worker_id, task.lease_expires_at, task.progress) == (
        TaskState.QUEUEING,
        None,
        None,
        0,
    )
    # the old worker lost it
    assert not store.queue.heartbeat("t1", "w", 50, LEASE, at(42)).still_owner
    assert not store.queue.complete("t1", "w", [], at(42))
    again = store.queue.claim("w2", None, LEASE, at(43))
    assert again is not None and again.attempts == 2 and again.worker_id == "w2"


def test_store_reap_fails_after_max_attempts(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    assert store.queue.reap(at(100), 2, HOURS_48) == ["t1"]
    assert store.queue.claim("w", None, LEASE, at(101)) is not None
    assert store.queue.reap(at(200), 2, HOURS_48) == ["t1"]
    task = store.tasks.get_task("t1")
    assert task is not None
    assert (task.state, task.err_code, task.finished_at) == (
        TaskState.FAILED,
        "InternalServiceFailure",
        at(200),
    )
    assert store.queue.reap(at(300), 2, HOURS_48) == []


def test_store_reap_ends_cancel_flagged_task(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("t1", key_id))
    assert store.queue.claim("w", None, LEASE, at(0)) is not None
    store.tasks.request_cancel("t1", at(1))
    assert store.queue.reap(at(100), 3, HOURS_48) == ["t1"]
    task = store.tasks.get_task("t1")
    assert task is not None and (task.state, task.err_code) == (TaskState.FAILED, "UserCancelled")


def test_store_reap_expires_old_off_peak_tasks(store: AnyStore) -> None:
    key = make_api_key("night", concurrency=1, credits=100)
    store.keys.add_key(key)
    store.tasks.insert_task(make_task("running", key.id, off_peak=True, created_at=at(0)))
    store.tasks.insert_task(make_task("waiting", key.id, off_peak=True, created_at=at(1)))
    store.tasks.insert_task(make_task("normal", key.id, created_at=at(0)))
    store.tasks.insert_task(make_task("young", key.id, off_peak=True, created_at=at(3600)))
    assert store.queue.claim("w", None, 10 * HOURS_48, at(2)) is not None  # "normal" first
    store.queue.complete("normal", "w", [], at(3))
    running = store.queue.claim("w", None, 10 * HOURS_48, at(4))
    assert running is not None and running.id == "running"
    assert store.queue.reap(at(1 + HOURS_48), 3, HOURS_48) == []  # exactly 48 h: not yet
    assert store.queue.reap(at(2 + HOURS_48), 3, HOURS_48) == ["waiting"]
    waiting = store.tasks.get_task("waiting")
    assert waiting is not None
    assert (waiting.state, waiting.err_code, waiting.charged_credits) == (
        TaskState.FAILED,
        "QuotaExceeded",
        0,
    )
    running_now = store.tasks.get_task("running")
    young = store.tasks.get_task("young")
    assert running_now is not None and running_now.state is TaskState.PROCESSING
    assert young is not None and young.state is TaskState.CREATED
    charged = store.keys.key_by_id(key.id)
    assert charged is not None and charged.credits == 92  # only "normal" was charged


def test_store_release_worker_requeues_its_tasks_only(store: AnyStore, key_id: str) -> None:
    for i in range(3):
        store.tasks.insert_task(make_task(f"t{i}", key_id, created_at=at(i)))
    assert store.queue.claim("dead", None, LEASE, at(10)) is not None
    assert store.queue.claim("alive", None, LEASE, at(10)) is not None
    assert store.queue.claim("dead", None, LEASE, at(10)) is not None
    store.tasks.request_cancel("t2", at(11))
    assert store.queue.release_worker("dead", at(12)) == ["t0", "t2"]
    states = {t: store.tasks.get_task(t) for t in ("t0", "t1", "t2")}
    assert {t: (v.state if v else None) for t, v in states.items()} == {
        "t0": TaskState.QUEUEING,
        "t1": TaskState.PROCESSING,
        "t2": TaskState.FAILED,
    }
    assert store.queue.claim("w", None, LEASE, at(13)) is not None
    assert store.queue.release_worker("w", at(14), max_attempts=2) == ["t0"]
    t0 = store.tasks.get_task("t0")
    assert t0 is not None and (t0.state, t0.err_code) == (TaskState.FAILED, "InternalServiceFailure")


# --- keys -----------------------------------------------------------------------------------------


def test_store_keys_add_and_look_up(store: AnyStore) -> None:
    key = make_api_key("alice", credits=100, concurrency=3)
    store.keys.add_key(key)
    assert store.keys.key_by_hash(key.token_hash) == key
    assert store.keys.key_by_id(key.id) == key
    assert store.keys.key_by_hash("nope") is None
    assert store.keys.key_by_id("nope") is None
    got = store.keys.key_by_id(key.id)
    assert got is not None and got.created_at.tzinfo is UTC and isinstance(got.token_encrypted, bytes)


def test_store_keys_names_are_unique_among_active_keys(store: AnyStore) -> None:
    store.keys.add_key(make_api_key("alice"))
    with pytest.raises(FieldInvalid) as caught:
        store.keys.add_key(make_api_key("alice", key_id="other-id", token_hash="other-hash"))
    assert caught.value.field == "name"
    assert len(store.keys.list_keys()) == 1


def test_store_keys_revoke(store: AnyStore) -> None:
    old = make_api_key("alice")
    store.keys.add_key(old)
    store.keys.add_key(make_api_key("bob", created_at=T0 + timedelta(days=1)))
    assert store.keys.revoke_key("alice", at(5))
    assert not store.keys.revoke_key("alice", at(6))
    assert not store.keys.revoke_key("nobody", at(6))
    assert store.keys.key_by_hash(old.token_hash) is None
    revoked = store.keys.key_by_id(old.id)
    assert revoked is not None and revoked.revoked_at == at(5)
    # the name is free again
    new = make_api_key(
        "alice", key_id="alice-2", token_hash="hash-alice-2", created_at=T0 + timedelta(days=2)
    )
    store.keys.add_key(new)
    assert store.keys.key_by_hash(new.token_hash) == new
    assert [(k.id, k.revoked_at) for k in store.keys.list_keys()] == [
        ("key-alice", at(5)),
        ("key-bob", None),
        ("alice-2", None),
    ]


def test_store_ping(store: AnyStore) -> None:
    assert store.ping()


def test_store_claim_filters_by_kind_too(store: AnyStore, key_id: str) -> None:
    store.tasks.insert_task(make_task("img", key_id, model="viduq2", kind=TaskKind.IMAGE, created_at=at(0)))
    store.tasks.insert_task(make_task("vid", key_id, model="viduq2", created_at=at(1)))
    got = store.queue.claim("w", [(TaskKind.VIDEO, "viduq2")], LEASE, T0)
    assert got is not None and got.id == "vid"
    assert store.queue.claim("w", [(TaskKind.VIDEO, "viduq2")], LEASE, T0) is None
    got = store.queue.claim("w", [(TaskKind.IMAGE, "viduq2")], LEASE, T0)
    assert got is not None and got.id == "img"
