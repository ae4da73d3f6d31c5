"""The task lifecycle alone: what every state change writes, and every change a task cannot make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen import lifecycle
from refgen.domain import ALLOWED_TRANSITIONS, Creation, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import IllegalTransition, TaskNotCancellable
from refgen.lifecycle import CallbackEvent, Lease, TaskChange

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
CREATED, QUEUEING, PROCESSING = TaskState.CREATED, TaskState.QUEUEING, TaskState.PROCESSING
SUCCESS, FAILED = TaskState.SUCCESS, TaskState.FAILED
WAITING = (CREATED, QUEUEING)
NOT_PROCESSING = (CREATED, QUEUEING, SUCCESS, FAILED)
CREATION = Creation(id="t-0", media_key="m", cover_key="c", watermarked_key=None, width=8, height=8)


def failed(expected: TaskState, err_code: ErrCode, **values: bool) -> TaskChange:
    return TaskChange(
        expected=expected,
        state=FAILED,
        err_code=err_code,
        finished_at=NOW,
        callback=CallbackEvent(FAILED, NOW),
        **values,
    )


def test_lifecycle_mark_queueing_applies_to_a_created_task() -> None:
    assert lifecycle.mark_queueing() == TaskChange(expected=CREATED, state=QUEUEING)


@pytest.mark.parametrize("state", WAITING)
def test_lifecycle_claim_takes_a_waiting_task_with_a_lease(state: TaskState) -> None:
    change = lifecycle.claim(state, cancel_requested=False, worker_id="w", lease_seconds=30, now=NOW)
    assert change == TaskChange(
        expected=state,
        state=PROCESSING,
        lease=Lease("w", NOW + timedelta(seconds=30)),
        count_attempt=True,
        started_at=NOW,
        callback=CallbackEvent(PROCESSING, NOW),
    )


@pytest.mark.parametrize("state", (PROCESSING, SUCCESS, FAILED))
def test_lifecycle_claim_refuses_a_task_that_is_not_waiting(state: TaskState) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot claim a task that is {state.value}"):
        lifecycle.claim(state, cancel_requested=False, worker_id="w", lease_seconds=30, now=NOW)


def test_lifecycle_claim_refuses_a_cancel_flagged_task() -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.claim(QUEUEING, cancel_requested=True, worker_id="w", lease_seconds=30, now=NOW)


@pytest.mark.parametrize(
    ("held", "reported", "written"), [(10, 40, 40), (40, 10, 40), (0, 250, 100), (5, -3, 5)]
)
def test_lifecycle_heartbeat_renews_the_lease_and_never_lowers_progress(
    held: int, reported: int, written: int
) -> None:
    change = lifecycle.heartbeat(
        PROCESSING, progress=held, reported=reported, worker_id="w", lease_seconds=10, now=NOW
    )
    assert change == TaskChange(
        expected=PROCESSING, progress=written, lease=Lease("w", NOW + timedelta(seconds=10))
    )


@pytest.mark.parametrize("state", NOT_PROCESSING)
def test_lifecycle_heartbeat_refuses_a_task_that_is_not_processing(state: TaskState) -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.heartbeat(state, progress=0, reported=1, worker_id="w", lease_seconds=10, now=NOW)


def test_lifecycle_held_by_only_the_worker_of_a_processing_task() -> None:
    assert lifecycle.held_by(PROCESSING, "w", "w")
    assert not lifecycle.held_by(PROCESSING, "other", "w")
    assert not lifecycle.held_by(PROCESSING, None, "w")
    assert not lifecycle.held_by(FAILED, "w", "w")


def test_lifecycle_complete_succeeds_charges_and_reports() -> None:
    change = lifecycle.complete(PROCESSING, cancel_requested=False, creations=[CREATION], now=NOW)
    assert change == TaskChange(
        expected=PROCESSING,
        state=SUCCESS,
        progress=100,
        end_lease=True,
        finished_at=NOW,
        creations=(CREATION,),
        charge=True,
        callback=CallbackEvent(SUCCESS, NOW),
    )
    assert change.succeeded


def test_lifecycle_complete_of_a_cancel_flagged_task_ends_it_cancelled() -> None:
    change = lifecycle.complete(PROCESSING, cancel_requested=True, creations=[CREATION], now=NOW)
    assert change == failed(PROCESSING, ErrCode.USER_CANCELLED, end_lease=True)
    assert not change.succeeded and not change.charge and change.creations is None


@pytest.mark.parametrize("state", NOT_PROCESSING)
@pytest.mark.parametrize("cancel_requested", (False, True))
def test_lifecycle_complete_refuses_a_task_that_is_not_processing(
    state: TaskState, cancel_requested: bool
) -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.complete(state, cancel_requested=cancel_requested, creations=[CREATION], now=NOW)


@pytest.mark.parametrize("err_code", (ErrCode.INTERNAL_SERVICE_FAILURE, ErrCode.OUT_OF_MEMORY))
def test_lifecycle_fail_records_the_err_code(err_code: ErrCode) -> None:
    change = lifecycle.fail(PROCESSING, cancel_requested=False, err_code=err_code, now=NOW)
    assert change == failed(PROCESSING, err_code, end_lease=True)
    assert not change.succeeded


def test_lifecycle_fail_of_a_cancel_flagged_task_says_user_cancelled() -> None:
    change = lifecycle.fail(PROCESSING, cancel_requested=True, err_code=ErrCode.OUT_OF_MEMORY, now=NOW)
    assert change == failed(PROCESSING, ErrCode.USER_CANCELLED, end_lease=True)


@pytest.mark.parametrize("state", NOT_PROCESSING)
def test_lifecycle_fail_refuses_a_task_that_is_not_processing(state: TaskState) -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.fail(state, cancel_requested=False, err_code=ErrCode.INTERNAL_SERVICE_FAILURE, now=NOW)


@pytest.mark.parametrize(("attempts", "max_attempts"), [(1, 3), (2, 3), (5, None)])
def test_lifecycle_hand_back_requeues_below_max_attempts(attempts: int, max_attempts: int | None) -> None:
    change = lifecycle.hand_back(
        PROCESSING, cancel_requested=False, attempts=attempts, max_attempts=max_attempts, now=NOW
    )
    assert change == TaskChange(
        expected=PROCESSING, state=QUEUEING, progress=0, end_lease=True, forget_worker=True
    )
    assert change.callback is None


@pytest.mark.parametrize("attempts", (3, 4))
def test_lifecycle_hand_back_fails_once_max_attempts_are_used(attempts: int) -> None:
    change = lifecycle.hand_back(
        PROCESSING, cancel_requested=False, attempts=attempts, max_attempts=3, now=NOW
    )
    assert change == failed(PROCESSING, lifecycle.LEASE_EXHAUSTED, end_lease=True, forget_worker=True)
    assert lifecycle.LEASE_EXHAUSTED is ErrCode.INTERNAL_SERVICE_FAILURE


@pytest.mark.parametrize("max_attempts", (None, 1, 10))
def test_lifecycle_hand_back_of_a_cancel_flagged_task_ends_it_cancelled(max_attempts: int | None) -> None:
    change = lifecycle.hand_back(
        PROCESSING, cancel_requested=True, attempts=1, max_attempts=max_attempts, now=NOW
    )
    assert change == failed(PROCESSING, ErrCode.USER_CANCELLED, end_lease=True, forget_worker=True)


@pytest.mark.parametrize("state", NOT_PROCESSING)
def test_lifecycle_hand_back_refuses_a_task_that_is_not_processing(state: TaskState) -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.hand_back(state, cancel_requested=False, attempts=1, max_attempts=3, now=NOW)


@pytest.mark.parametrize("state", WAITING)
def test_lifecycle_request_cancel_ends_a_waiting_task_at_once(state: TaskState) -> None:
    change = lifecycle.request_cancel(state, now=NOW)
    assert change == failed(state, ErrCode.USER_CANCELLED, cancel_requested=True)


def test_lifecycle_request_cancel_only_flags_a_processing_task() -> None:
    assert lifecycle.request_cancel(PROCESSING, now=NOW) == TaskChange(
        expected=PROCESSING, cancel_requested=True
    )


@pytest.mark.parametrize("state", (SUCCESS, FAILED))
def test_lifecycle_request_cancel_refuses_a_finished_task(state: TaskState) -> None:
    with pytest.raises(TaskNotCancellable) as info:
        lifecycle.request_cancel(state, now=NOW)
    assert info.value.message == f"task state is {state.value}, can not cancel"


@pytest.mark.parametrize("state", WAITING)
def test_lifecycle_expire_off_peak_fails_with_quota_exceeded(state: TaskState) -> None:
    change = lifecycle.expire_off_peak(state, off_peak=True, now=NOW)
    assert change == failed(state, ErrCode.QUOTA_EXCEEDED)


@pytest.mark.parametrize("state", (PROCESSING, SUCCESS, FAILED))
def test_lifecycle_expire_off_peak_refuses_a_task_that_is_not_waiting(state: TaskState) -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.expire_off_peak(state, off_peak=True, now=NOW)


def test_lifecycle_expire_off_peak_refuses_a_normal_task() -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.expire_off_peak(QUEUEING, off_peak=False, now=NOW)


def test_lifecycle_every_change_it_builds_is_an_allowed_transition() -> None:
    changes = [
        lifecycle.mark_queueing(),
        *(
            lifecycle.claim(s, cancel_requested=False, worker_id="w", lease_seconds=1, now=NOW)
            for s in WAITING
        ),
        lifecycle.complete(PROCESSING, cancel_requested=False, creations=[], now=NOW),
        lifecycle.complete(PROCESSING, cancel_requested=True, creations=[], now=NOW),
        lifecycle.fail(PROCESSING, cancel_requested=False, err_code=ErrCode.OUT_OF_MEMORY, now=NOW),
        lifecycle.hand_back(PROCESSING, cancel_requested=False, attempts=1, max_attempts=None, now=NOW),
        lifecycle.hand_back(PROCESSING, cancel_requested=False, attempts=9, max_attempts=2, now=NOW),
        lifecycle.hand_back(PROCESSING, cancel_requested=True, attempts=1, max_attempts=None, now=NOW),
        *(lifecycle.request_cancel(s, now=NOW) for s in (*WAITING, PROCESSING)),
        *(lifecycle.expire_off_peak(s, off_peak=True, now=NOW) for s in WAITING),
    ]
    for change in changes:
        assert change.state is None or change.state in ALLOWED_TRANSITIONS[change.expected], change
        assert (change.callback is None) == (change.state in (None, QUEUEING)), change
