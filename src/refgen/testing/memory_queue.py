"""The task queue in the in-memory store: claim, heartbeat, complete, fail, reap and release a
dead worker's tasks, with the same order and limits as the SQL store. What each change does to
the task is decided by :mod:`refgen.lifecycle`; this module finds the tasks and applies it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from refgen import lifecycle
from refgen.domain import WAITING_STATES, Creation, Route, Task
from refgen.err_codes import ErrCode
from refgen.store.base import Heartbeat
from refgen.store.times import as_utc
from refgen.testing.memory_state import MemoryState


class MemoryQueue:
    """:class:`~refgen.store.base.TaskQueue` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        now = as_utc(now)
        with self._state.lock:
            running: dict[str, int] = {}
            for t in self._state.tasks.values():
                if t.state is lifecycle.LEASED:
                    running[t.key_id] = running.get(t.key_id, 0) + 1
            candidates = sorted(
                (
                    t
                    for t in self._state.tasks.values()
                    if t.state in WAITING_STATES
                    and not t.cancel_requested
                    and (routes is None or (t.spec.kind, t.spec.model) in routes)
                    and running.get(t.key_id, 0) < self._state.keys[t.key_id].concurrency
                ),
                key=lambda t: (t.spec.off_peak, t.created_at, t.id),
            )
            if not candidates:
                return None
            task = candidates[0]
            change = lifecycle.claim(
                task.state,
                cancel_requested=task.cancel_requested,
                worker_id=worker_id,
                lease_seconds=lease_seconds,
                now=now,
            )
            self._state.apply(task, change)
            return copy.deepcopy(task)

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat:
        now = as_utc(now)
        with self._state.lock:
            task = self._state.tasks.get(task_id)
            if task is None:
                return Heartbeat(still_owner=False, cancel_requested=False)
            owner = lifecycle.held_by(task.state, task.worker_id, worker_id)
            if owner:
                change = lifecycle.heartbeat(
                    task.state,
                    progress=task.progress,
                    reported=progress,
                    worker_id=worker_id,
                    lease_seconds=lease_seconds,
                    now=now,
                )
                owner = self._state.apply(task, change)
            return Heartbeat(still_owner=owner, cancel_requested=task.cancel_requested)

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        now = as_utc(now)
        with self._state.lock:
            task = self._held(task_id, worker_id)
            if task is None:
                return False
            change = lifecycle.complete(
                task.state, cancel_requested=task.cancel_requested, creations=creations, now=now
            )
            return self._state.apply(task, change) and change.succeeded

    def fail(self, task_id: str, worker_id: str, err_code: ErrCode, now: datetime) -> bool:
        now = as_utc(now)
        with self._state.lock:
            task = self._held(task_id, worker_id)
            if task is None:
                return False
            change = lifecycle.fail(
                task.state, cancel_requested=task.cancel_requested, err_code=err_code, now=now
            )
            return self._state.apply(task, change)

    def reap(
        self,
        now: datetime,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
    ) -> list[str]:
        now = as_utc(now)
        cutoff = now - timedelta(seconds=off_peak_expiry_seconds)
        with self._state.lock:
            alive = (
                set()
                if worker_timeout is None
                else {w.id for w in self._state.workers.values() if w.alive(now, worker_timeout)}
            )
            changed = self._take_back(
                lambda t: (
                    t.lease_expires_at is not None and t.lease_expires_at < now and t.worker_id not in alive
                ),
                now,
                max_attempts,
            )
            for task in self._in_order():
                if task.spec.off_peak and task.state in WAITING_STATES and task.created_at < cutoff:
                    change = lifecycle.expire_off_peak(task.state, off_peak=task.spec.off_peak, now=now)
                    if self._state.apply(task, change):
                        changed.append(task.id)
            return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a dead worker at once (see ``SqlStore.release_worker``)."""
        now = as_utc(now)
        with self._state.lock:
            return self._take_back(lambda t: t.worker_id == worker_id, now, max_attempts)

    # --- internals (call with the lock held) -------------------------------------------------

    def _in_order(self) -> list[Task]:
        return sorted(self._state.tasks.values(), key=lambda t: (t.created_at, t.id))

    def _held(self, task_id: str, worker_id: str) -> Task | None:
        task = self._state.tasks.get(task_id)
        return task if task is not None and lifecycle.held_by(task.state, task.worker_id, worker_id) else None

    def _take_back(self, matches: _TaskFilter, now: datetime, max_attempts: int | None) -> list[str]:
        changed: list[str] = []
        for task in self._in_order():
            if task.state is not lifecycle.LEASED or not matches(task):
                continue
            change = lifecycle.hand_back(
                task.state,
                cancel_requested=task.cancel_requested,
                attempts=task.attempts,
                max_attempts=max_attempts,
                now=now,
            )
            if self._state.apply(task, change):
                changed.append(task.id)
        return changed


_TaskFilter = Callable[[Task], bool]
