"""The task queue in the in-memory store: claim, heartbeat, complete, fail, reap and release a
dead worker's tasks, with the same order and limits as the SQL store."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from refgen.domain import Creation, Task, TaskState
from refgen.err_codes import ErrCode
from refgen.store.base import Heartbeat, Route
from refgen.store.times import as_utc
from refgen.testing.memory_state import WAITING, MemoryState


class MemoryQueue(MemoryState):
    """:class:`~refgen.store.base.TaskQueue` in memory."""

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
                    if t.state in WAITING
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
                self._finish(task, TaskState.FAILED, now, ErrCode.USER_CANCELLED)
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

    def fail(self, task_id: str, worker_id: str, err_code: ErrCode, now: datetime) -> bool:
        now = as_utc(now)
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not self._owns(task, worker_id):
                return False
            self._finish(
                task, TaskState.FAILED, now, ErrCode.USER_CANCELLED if task.cancel_requested else err_code
            )
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
                if task.spec.off_peak and task.state in WAITING and task.created_at < cutoff:
                    task.state = TaskState.FAILED
                    task.err_code = ErrCode.QUOTA_EXCEEDED
                    task.finished_at = now
                    self._enqueue_callback(task, now)
                    changed.append(task.id)
            return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a dead worker at once (see ``SqlStore.release_worker``)."""
        now = as_utc(now)
        with self._lock:
            return self._take_back(lambda t: t.worker_id == worker_id, now, max_attempts)

    # --- internals (call with the lock held) -------------------------------------------------

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
                task.state, task.err_code, task.finished_at = TaskState.FAILED, ErrCode.USER_CANCELLED, now
            elif max_attempts is not None and task.attempts >= max_attempts:
                task.state, task.err_code, task.finished_at = (
                    TaskState.FAILED,
                    ErrCode.INTERNAL_SERVICE_FAILURE,
                    now,
                )
            else:
                task.state = TaskState.QUEUEING
                task.progress = 0
            if task.state is TaskState.FAILED:
                self._enqueue_callback(task, now)
            changed.append(task.id)
        return changed


_TaskFilter = Callable[[Task], bool]
