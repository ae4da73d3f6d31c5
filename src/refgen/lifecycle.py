"""How a task moves between states, decided once: every state change is a :class:`TaskChange` value.

A store reads the facts a change needs (the task's state, its cancel flag, its attempts), asks
one constructor here what happens, and *applies* the answer: the SQL store as one ``UPDATE ...
WHERE state = <expected>`` with the change's values, the in-memory store by setting fields; both
queue the callback the change names in the same transaction. No store decides a state, an
``err_code`` or a counter itself.

The constructors check the change against :data:`~refgen.domain.ALLOWED_TRANSITIONS` and raise
:class:`~refgen.errors.IllegalTransition` for one the task cannot make. Asking to cancel a task
that already ended is the client's mistake, not the store's: :func:`request_cancel` raises
:class:`~refgen.errors.TaskNotCancellable` for it.

=====================  ======================  =========================================
change                 from                    to
=====================  ======================  =========================================
:func:`mark_queueing`  created                 queueing
:func:`claim`          created, queueing       processing (attempts + 1, a lease)
:func:`heartbeat`      processing              processing (lease renewed, progress)
:func:`complete`       processing              success (credits charged), or failed /
                                               UserCancelled when cancel was requested
:func:`fail`           processing              failed (UserCancelled when cancel was
                                               requested, else the given err_code)
:func:`hand_back`      processing              queueing, or failed / UserCancelled when
                                               cancel was requested, or failed /
                                               InternalServiceFailure after max_attempts
:func:`request_cancel` created, queueing       failed / UserCancelled at once
                       processing              processing, cancel flag set
:func:`expire_off_peak` created, queueing      failed / QuotaExceeded
=====================  ======================  =========================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from refgen.domain import ALLOWED_TRANSITIONS, TERMINAL_STATES, WAITING_STATES, Creation, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import IllegalTransition, TaskNotCancellable

LEASED = TaskState.PROCESSING
"""The one state in which a worker holds a task (and a lease on it)."""

LEASE_EXHAUSTED = ErrCode.INTERNAL_SERVICE_FAILURE
"""The err_code of a task whose workers died ``max_attempts`` times."""


def not_cancellable_message(state: str) -> str:
    """The message of TaskNotCancellable for a task that already ended in ``state``."""
    return f"task state is {state}, can not cancel"


@dataclass(frozen=True)
class Lease:
    """A worker holds the task until ``expires_at``."""

    worker_id: str
    expires_at: datetime


@dataclass(frozen=True)
class CallbackEvent:
    """The callback a change queues (for a task with a ``callback_url``): ``state`` at ``at``."""

    state: TaskState
    at: datetime


@dataclass(frozen=True)
class TaskChange:
    """Exactly what one state change writes. ``None`` (or ``False``) leaves a field as it is."""

    expected: TaskState  # the change applies only to a task still in this state
    state: TaskState | None = None
    err_code: ErrCode | None = None
    progress: int | None = None
    lease: Lease | None = None  # take or renew the lease
    end_lease: bool = False  # the lease ends (lease_expires_at cleared; the worker stays on record)
    forget_worker: bool = False  # the worker is cleared too (the task goes back to the queue)
    count_attempt: bool = False  # attempts + 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False  # set the cancel flag
    creations: tuple[Creation, ...] | None = None
    charge: bool = False  # take the task's credits from its key's balance
    callback: CallbackEvent | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the task ends ``success`` (a worker keeps its result only then)."""
        return self.state is TaskState.SUCCESS


def held_by(state: TaskState, holder: str | None, worker_id: str) -> bool:
    """Whether ``worker_id`` holds the task (a worker that lost it must not change it)."""
    return state is LEASED and holder == worker_id


def _check(old: TaskState, new: TaskState, change: str) -> None:
    if new not in ALLOWED_TRANSITIONS[old]:
        raise IllegalTransition(f"cannot {change} a task that is {old.value}")


def _require(state: TaskState, allowed: frozenset[TaskState], change: str) -> None:
    if state not in allowed:
        raise IllegalTransition(f"cannot {change} a task that is {state.value}")


def _failed(
    expected: TaskState,
    err_code: ErrCode,
    now: datetime,
    *,
    end_lease: bool = False,
    forget_worker: bool = False,
    cancel_requested: bool = False,
) -> TaskChange:
    _check(expected, TaskState.FAILED, f"end ({err_code})")
    return TaskChange(
        expected=expected,
        state=TaskState.FAILED,
        err_code=err_code,
        end_lease=end_lease,
        forget_worker=forget_worker,
        finished_at=now,
        cancel_requested=cancel_requested,
        callback=CallbackEvent(TaskState.FAILED, now),
    )


def mark_queueing() -> TaskChange:
    """The created task waits in the queue (nothing happens to one a worker took already)."""
    _check(TaskState.CREATED, TaskState.QUEUEING, "queue")
    return TaskChange(expected=TaskState.CREATED, state=TaskState.QUEUEING)


def claim(
    state: TaskState, *, cancel_requested: bool, worker_id: str, lease_seconds: float, now: datetime
) -> TaskChange:
    """A worker takes a waiting task: ``processing``, one more attempt, a lease."""
    _require(state, WAITING_STATES, "claim")
    if cancel_requested:
        raise IllegalTransition("cannot claim a task whose cancel was requested")
    _check(state, TaskState.PROCESSING, "claim")
    return TaskChange(
        expected=state,
        state=TaskState.PROCESSING,
        lease=Lease(worker_id, now + timedelta(seconds=lease_seconds)),
        count_attempt=True,
        started_at=now,
        callback=CallbackEvent(TaskState.PROCESSING, now),
    )


def heartbeat(
    state: TaskState, *, progress: int, reported: int, worker_id: str, lease_seconds: float, now: datetime
) -> TaskChange:
    """The worker renews its lease and reports progress (0–100; it never goes down)."""
    _require(state, frozenset({LEASED}), "renew the lease of")
    return TaskChange(
        expected=state,
        progress=max(progress, max(0, min(100, reported))),
        lease=Lease(worker_id, now + timedelta(seconds=lease_seconds)),
    )


def complete(
    state: TaskState, *, cancel_requested: bool, creations: Sequence[Creation], now: datetime
) -> TaskChange:
    """The worker finished: ``success`` with its creations, charged; a task whose cancel was
    requested ends ``failed/UserCancelled`` instead (the client was told it is cancelled)."""
    if cancel_requested:
        return fail(state, cancel_requested=True, err_code=ErrCode.USER_CANCELLED, now=now)
    _check(state, TaskState.SUCCESS, "complete")
    return TaskChange(
        expected=state,
        state=TaskState.SUCCESS,
        progress=100,
        end_lease=True,
        finished_at=now,
        creations=tuple(creations),
        charge=True,
        callback=CallbackEvent(TaskState.SUCCESS, now),
    )


def fail(state: TaskState, *, cancel_requested: bool, err_code: ErrCode, now: datetime) -> TaskChange:
    """The worker failed: ``failed`` with ``err_code`` (``UserCancelled`` whatever it says when
    the cancel was requested); nothing is charged."""
    _require(state, frozenset({LEASED}), "fail")
    return _failed(state, ErrCode.USER_CANCELLED if cancel_requested else err_code, now, end_lease=True)


def hand_back(
    state: TaskState, *, cancel_requested: bool, attempts: int, max_attempts: int | None, now: datetime
) -> TaskChange:
    """The task's worker is gone (died, lease expired, or shutting down): back to the queue, or
    ``failed/UserCancelled`` when its cancel was requested, or ``failed`` with
    :data:`LEASE_EXHAUSTED` once it had ``max_attempts`` attempts (when a limit is given)."""
    _require(state, frozenset({LEASED}), "hand back")
    if cancel_requested:
        return _failed(state, ErrCode.USER_CANCELLED, now, end_lease=True, forget_worker=True)
    if max_attempts is not None and attempts >= max_attempts:
        return _failed(state, LEASE_EXHAUSTED, now, end_lease=True, forget_worker=True)
    _check(state, TaskState.QUEUEING, "hand back")
    return TaskChange(
        expected=state, state=TaskState.QUEUEING, progress=0, end_lease=True, forget_worker=True
    )


def request_cancel(state: TaskState, *, now: datetime) -> TaskChange:
    """The client cancels: a waiting task ends ``failed/UserCancelled`` at once; a processing one
    is flagged (its worker, or the reaper, ends it). A task that ended already cannot be
    cancelled (:class:`~refgen.errors.TaskNotCancellable`)."""
    if state in TERMINAL_STATES:
        raise TaskNotCancellable(not_cancellable_message(state.value))
    if state is LEASED:
        return TaskChange(expected=state, cancel_requested=True)
    return _failed(state, ErrCode.USER_CANCELLED, now, cancel_requested=True)


def expire_off_peak(state: TaskState, *, off_peak: bool, now: datetime) -> TaskChange:
    """An off-peak task that waited longer than the expiry ends ``failed/QuotaExceeded``."""
    _require(state, WAITING_STATES, "expire")
    if not off_peak:
        raise IllegalTransition("only an off-peak task expires")
    return _failed(state, ErrCode.QUOTA_EXCEEDED, now)
