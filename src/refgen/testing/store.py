"""An in-memory store with the same semantics as :class:`~refgen.store.sql.SqlStore`.

``MemoryStore`` implements :class:`~refgen.store.base.KeyStore`, :class:`~refgen.store.base.TaskStore`,
:class:`~refgen.store.base.TaskQueue` and :class:`~refgen.store.base.CallbackOutbox` on dictionaries
behind one lock (each state change queues its callback under the same lock, as the SQL store does
in the same transaction), so unit tests of the
service and the workers assert on real state. The same behaviour suite runs against both stores
(``tests/unit/store``). Tasks are copied on the way in and out: mutating a returned task changes
nothing stored.

:func:`make_api_key` and :func:`make_task` build valid objects with test-friendly defaults.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from refgen.domain import Creation, Task, TaskKind, TaskSpec, TaskState
from refgen.errors import CreditInsufficient, FieldInvalid, StoreError, TaskNotCancellable, TaskNotFound
from refgen.store.base import (
    CANCELLED,
    LEASE_EXHAUSTED,
    OFF_PEAK_EXPIRED,
    ApiKey,
    CallbackAttempt,
    CallbackDelivery,
    DeliveryStatus,
    Heartbeat,
    Route,
    WorkerInfo,
    not_cancellable_message,
)
from refgen.store.times import as_utc

_WAITING = frozenset({TaskState.CREATED, TaskState.QUEUEING})
_FINISHED = frozenset({TaskState.SUCCESS, TaskState.FAILED})


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


class MemoryStore:
    """Keys, tasks and the queue in memory; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._tasks: dict[str, Task] = {}
        self._deliveries: dict[str, CallbackDelivery] = {}  # in insertion order; no history
        self._attempts: dict[str, list[CallbackAttempt]] = {}
        self._workers: dict[str, WorkerInfo] = {}

    def ping(self) -> bool:
        return True

    # --- keys -------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> None:
        key = replace(key, created_at=as_utc(key.created_at), revoked_at=_utc_or_none(key.revoked_at))
        with self._lock:
            if key.revoked_at is None and self._active_key_named(key.name) is not None:
                raise FieldInvalid(f"a key named {key.name!r} exists already", field="name")
            if key.id in self._keys or any(k.token_hash == key.token_hash for k in self._keys.values()):
                raise StoreError("database error: IntegrityError: duplicate key id or token hash")
            self._keys[key.id] = key

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        with self._lock:
            for key in self._keys.values():
                if key.token_hash == token_hash and key.revoked_at is None:
                    return key
            return None

    def key_by_id(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def list_keys(self) -> Sequence[ApiKey]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))

    def revoke_key(self, name: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._lock:
            key = self._active_key_named(name)
            if key is None:
                return False
            self._keys[key.id] = replace(key, revoked_at=now)
            return True

    def _active_key_named(self, name: str) -> ApiKey | None:
        for key in self._keys.values():
            if key.name == name and key.revoked_at is None:
                return key
        return None

    # --- tasks ------------------------------------------------------------------------------

    def insert_task(self, task: Task) -> None:
        stored = copy.deepcopy(task)
        stored.state = TaskState(stored.state)
        stored.created_at = as_utc(stored.created_at)
        stored.started_at = _utc_or_none(stored.started_at)
        stored.finished_at = _utc_or_none(stored.finished_at)
        stored.lease_expires_at = _utc_or_none(stored.lease_expires_at)
        stored.reference_keys = list(stored.reference_keys)
        stored.creations = list(stored.creations)
        with self._lock:
            key = self._keys.get(task.key_id)
            if key is None:
                raise StoreError(f"unknown key id {task.key_id!r}")
            if task.id in self._tasks:
                raise StoreError(f"database error: IntegrityError: duplicate task id {task.id!r}")
            if key.credits is not None:
                reserved = sum(
                    t.spec.credits
                    for t in self._tasks.values()
                    if t.key_id == key.id and t.state not in _FINISHED
                )
                if key.credits - reserved < task.spec.credits:
                    raise CreditInsufficient()
            self._tasks[stored.id] = stored

    def get_task(self, task_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else copy.deepcopy(task)

    def list_tasks(self, key_id: str, limit: int = 100) -> list[Task]:
        """The key's tasks, newest first."""
        with self._lock:
            mine = [t for t in self._tasks.values() if t.key_id == key_id]
            mine.sort(key=lambda t: (t.created_at, t.id), reverse=True)
            return [copy.deepcopy(t) for t in mine[:limit]]

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        now = as_utc(now)
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise TaskNotFound()
            if task.state in _FINISHED:
                raise TaskNotCancellable(not_cancellable_message(task.state.value))
            task.cancel_requested = True
            if task.state in _WAITING:
                task.state = TaskState.FAILED
                task.err_code = CANCELLED
                task.finished_at = now
                self._enqueue_callback(task, now)
            return copy.deepcopy(task)

    def mark_queueing(self, task_id: str) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None and task.state is TaskState.CREATED:
                task.state = TaskState.QUEUEING

    # --- queue ------------------------------------------------------------------------------

    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        now = as_utc(now)
        with self._lock:
            running: dict[str, int] = {}
            for t in self._tasks.values():
                if t.state is TaskState.PROCESSING:
                    running[t.key_id] = running.get(t.key_id, 0) + 1
            candidates = sorted(
                (
                    t
                    for t in self._tasks.values()
                    if t.state in _WAITING
                    and not t.cancel_requested
                    and (routes is None or (t.spec.kind, t.spec.model) in routes)
                    and running.get(t.key_id, 0) < self._keys[t.key_id].concurrency
                ),
                key=lambda t: (t.spec.off_peak, t.created_at, t.id),
            )
            if not candidates:
                return None
            task = candidates[0]
            task.state = TaskState.PROCESSING
            task.worker_id = worker_id
            task.lease_expires_at = now + timedelta(seconds=lease_seconds)
            task.started_at = now
            task.attempts += 1
            self._enqueue_callback(task, now)
            return copy.deepcopy(task)

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat:
        now = as_utc(now)
        progress = max(0, min(100, progress))
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return Heartbeat(still_owner=False, cancel_requested=False)
            owner = self._owns(task, worker_id)
            if owner:
                task.lease_expires_at = now + timedelta(seconds=lease_seconds)
                task.progress = max(task.progress, progress)
            return Heartbeat(still_owner=owner, cancel_requested=task.cancel_requested)

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        now = as_utc(now)
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not self._owns(task, worker_id):
                return False
            if task.cancel_requested:
                self._finish(task, TaskState.FAILED, now, CANCELLED)
                self._enqueue_callback(task, now)
                return False
            self._finish(task, TaskState.SUCCESS, now, "")
            task.progress = 100
            task.creations = list(creations)
            self._enqueue_callback(task, now)
            key = self._keys[task.key_id]
            if key.credits is not None:
                self._keys[key.id] = replace(key, credits=key.credits - task.spec.credits)
            return True

    def fail(self, task_id: str, worker_id: str, err_code: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not self._owns(task, worker_id):
                return False
            self._finish(task, TaskState.FAILED, now, CANCELLED if task.cancel_requested else err_code)
            self._enqueue_callback(task, now)
            return True

    def reap(
        self,
        now: datetime,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
    ) -> list[str]:
        now = as_utc(now)
        cutoff = now - timedelta(seconds=off_peak_expiry_seconds)
        with self._lock:
            alive = (
                set()
                if worker_timeout is None
                else {w.id for w in self._workers.values() if w.alive(now, worker_timeout)}
            )
            changed = self._take_back(
                lambda t: (
                    t.lease_expires_at is not None and t.lease_expires_at < now and t.worker_id not in alive
                ),
                now,
                max_attempts,
            )
            for task in self._in_order():
                if task.spec.off_peak and task.state in _WAITING and task.created_at < cutoff:
                    task.state = TaskState.FAILED
                    task.err_code = OFF_PEAK_EXPIRED
                    task.finished_at = now
                    self._enqueue_callback(task, now)
                    changed.append(task.id)
            return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a dead worker at once (see ``SqlStore.release_worker``)."""
        now = as_utc(now)
        with self._lock:
            return self._take_back(lambda t: t.worker_id == worker_id, now, max_attempts)

    # --- worker registry ---------------------------------------------------------------------

    def register_worker(self, worker: WorkerInfo) -> None:
        with self._lock:
            self._workers[worker.id] = replace(
                worker,
                started_at=as_utc(worker.started_at),
                last_seen_at=as_utc(worker.last_seen_at),
                stopped_at=None,
            )

    def worker_seen(self, worker_id: str, now: datetime) -> None:
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is not None and worker.stopped_at is None:
                self._workers[worker_id] = replace(worker, last_seen_at=as_utc(now))

    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is not None and worker.stopped_at is None:
                self._workers[worker_id] = replace(worker, stopped_at=as_utc(now))

    def list_workers(self) -> list[WorkerInfo]:
        with self._lock:
            return sorted(self._workers.values(), key=lambda w: (-w.started_at.timestamp(), w.id))

    # --- callback outbox --------------------------------------------------------------------

    def claim_deliveries(self, now: datetime, limit: int, lease_seconds: float) -> list[CallbackDelivery]:
        now = as_utc(now)
        with self._lock:
            pending = [d for d in self._deliveries.values() if d.status is DeliveryStatus.PENDING]
            first_pending: dict[str, tuple[datetime, str]] = {}  # a task's callbacks go out in order
            for d in pending:
                first_pending[d.task_id] = min(
                    first_pending.get(d.task_id, (d.created_at, d.id)), (d.created_at, d.id)
                )
            due = sorted(
                (
                    d
                    for d in pending
                    if d.next_attempt_at is not None
                    and d.next_attempt_at <= now
                    and (d.locked_until is None or d.locked_until <= now)
                    and first_pending[d.task_id] == (d.created_at, d.id)
                ),
                key=lambda d: (d.next_attempt_at, d.created_at),
            )[:limit]
            taken = [replace(d, locked_until=now + timedelta(seconds=lease_seconds)) for d in due]
            for delivery in taken:
                self._deliveries[delivery.id] = delivery
            return taken

    def record_attempt(
        self,
        delivery_id: str,
        now: datetime,
        *,
        status_code: int | None,
        error: str | None,
        delivered: bool,
        next_attempt_at: datetime | None,
    ) -> CallbackDelivery | None:
        now = as_utc(now)
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None:
                return None
            number = delivery.attempts + 1
            self._attempts[delivery_id].append(CallbackAttempt(number, now, status_code, error))
            delivery = replace(
                delivery,
                attempts=number,
                round_attempts=delivery.round_attempts + 1,
                locked_until=None,
                last_status_code=status_code,
                last_error=error,
            )
            if delivered:
                delivery = replace(
                    delivery, status=DeliveryStatus.DELIVERED, next_attempt_at=None, delivered_at=now
                )
            elif delivery.status is not DeliveryStatus.DELIVERED:
                delivery = replace(
                    delivery,
                    status=DeliveryStatus.PENDING if next_attempt_at is not None else DeliveryStatus.FAILED,
                    next_attempt_at=_utc_or_none(next_attempt_at),
                )
            self._deliveries[delivery_id] = delivery
            return self._with_history(delivery)

    def get_delivery(self, delivery_id: str) -> CallbackDelivery | None:
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            return None if delivery is None else self._with_history(delivery)

    def list_deliveries(self, task_id: str | None = None, limit: int = 100) -> list[CallbackDelivery]:
        with self._lock:
            chosen = [d for d in self._deliveries.values() if task_id is None or d.task_id == task_id]
            chosen.sort(key=lambda d: (d.created_at, d.id))
            return [self._with_history(d) for d in chosen[-limit:]] if limit > 0 else []

    def redeliver(self, delivery_id: str, now: datetime) -> CallbackDelivery | None:
        now = as_utc(now)
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None:
                return None
            delivery = replace(
                delivery,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                round_attempts=0,
                delivered_at=None,
            )
            self._deliveries[delivery_id] = delivery
            return self._with_history(delivery)

    # --- internals (call with the lock held) -------------------------------------------------

    def _with_history(self, delivery: CallbackDelivery) -> CallbackDelivery:
        return replace(delivery, history=tuple(self._attempts[delivery.id]))

    def _in_order(self) -> list[Task]:
        return sorted(self._tasks.values(), key=lambda t: (t.created_at, t.id))

    @staticmethod
    def _owns(task: Task, worker_id: str) -> bool:
        return task.state is TaskState.PROCESSING and task.worker_id == worker_id

    @staticmethod
    def _finish(task: Task, state: TaskState, now: datetime, err_code: str) -> None:
        task.state = state
        task.err_code = err_code
        task.finished_at = now
        task.lease_expires_at = None

    def _take_back(self, matches: _TaskFilter, now: datetime, max_attempts: int | None) -> list[str]:
        changed: list[str] = []
        for task in self._in_order():
            if task.state is not TaskState.PROCESSING or not matches(task):
                continue
            task.worker_id = None
            task.lease_expires_at = None
            if task.cancel_requested:
                task.state, task.err_code, task.finished_at = TaskState.FAILED, CANCELLED, now
            elif max_attempts is not None and task.attempts >= max_attempts:
                task.state, task.err_code, task.finished_at = TaskState.FAILED, LEASE_EXHAUSTED, now
            else:
                task.state = TaskState.QUEUEING
                task.progress = 0
            if task.state is TaskState.FAILED:
                self._enqueue_callback(task, now)
            changed.append(task.id)
        return changed

    def _enqueue_callback(self, task: Task, now: datetime) -> None:
        """Queue the callback reporting the task's new state, if it has a ``callback_url``."""
        if not task.spec.callback_url:
            return
        delivery = CallbackDelivery(
            id=uuid.uuid4().hex,
            task_id=task.id,
            key_id=task.key_id,
            state=task.state,
            url=task.spec.callback_url,
            progress=task.progress,
            status=DeliveryStatus.PENDING,
            attempts=0,
            round_attempts=0,
            next_attempt_at=now,
            locked_until=None,
            last_status_code=None,
            last_error=None,
            created_at=now,
        )
        self._deliveries[delivery.id] = delivery
        self._attempts[delivery.id] = []


_TaskFilter = Callable[[Task], bool]


# --- builders for tests ---------------------------------------------------------------------------

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def make_api_key(
    name: str = "default",
    *,
    key_id: str | None = None,
    concurrency: int = 5,
    credits: int | None = None,
    created_at: datetime = _EPOCH,
    token_hash: str | None = None,
) -> ApiKey:
    """A key with a unique id and token hash derived from ``name`` unless given."""
    return ApiKey(
        id=key_id if key_id is not None else f"key-{name}",
        name=name,
        token_hash=token_hash if token_hash is not None else f"hash-{name}",
        token_encrypted=b"encrypted-" + name.encode(),
        concurrency=concurrency,
        credits=credits,
        created_at=created_at,
    )


def make_task(
    task_id: str,
    key_id: str,
    *,
    created_at: datetime = _EPOCH,
    model: str = "viduq1",
    credits: int = 8,
    off_peak: bool = False,
    state: TaskState = TaskState.CREATED,
    kind: TaskKind = TaskKind.VIDEO,
    callback_url: str = "",
) -> Task:
    """A valid reference2video task (viduq1, 5 s, 1080p) with one reference image."""
    spec = TaskSpec(
        kind=kind,
        model=model,
        prompt="a cat and a dog play chess",
        image_count=1,
        duration=5 if kind is TaskKind.VIDEO else None,
        resolution="1080p",
        aspect_ratio="16:9",
        movement_amplitude="auto" if kind is TaskKind.VIDEO else None,
        bgm=False,
        seed=42,
        off_peak=off_peak,
        watermark=False,
        wm_position=3,
        payload="",
        callback_url=callback_url,
        meta_data="",
        credits=credits,
    )
    return Task(
        id=task_id,
        key_id=key_id,
        spec=spec,
        reference_keys=[f"tasks/{task_id}/refs/0.png"],
        watermark_key=None,
        state=state,
        created_at=created_at,
    )
