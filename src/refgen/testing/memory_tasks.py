"""Tasks in the in-memory store: insert (with the credit check, the queue limits and the
``Idempotency-Key`` record), read, list, cancel and mark queueing. Tasks are copied on the way in and
out: mutating a returned task changes nothing stored.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime

from refgen import lifecycle
from refgen.domain import TERMINAL_STATES, WAITING_STATES, Task, TaskState
from refgen.errors import (
    CreditInsufficient,
    KeyQueueFull,
    StoreError,
    SystemThrottling,
    TaskNotFound,
    Unauthorized,
)
from refgen.store.base import IdempotencyRecord, IdempotentCreate, QueueCount, QueueLimits
from refgen.store.times import as_utc, optional_utc
from refgen.task_query import KeyUsage, TaskQuery, list_order
from refgen.testing.memory_state import MemoryState


class MemoryTasks:
    """:class:`~refgen.store.base.TaskStore` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def insert_task(
        self, task: Task, limits: QueueLimits | None = None, idempotency: IdempotentCreate | None = None
    ) -> str:
        stored = copy.deepcopy(task)
        stored.state = TaskState(stored.state)
        stored.created_at = as_utc(stored.created_at)
        stored.started_at = optional_utc(stored.started_at)
        stored.finished_at = optional_utc(stored.finished_at)
        stored.lease_expires_at = optional_utc(stored.lease_expires_at)
        stored.reference_keys = list(stored.reference_keys)
        stored.creations = list(stored.creations)
        with self._state.lock:
            key = self._state.keys.get(task.key_id)
            if key is None:
                raise StoreError(f"unknown key id {task.key_id!r}")
            if key.revoked_at is not None:
                raise Unauthorized("invalid API key")
            if task.id in self._state.tasks:
                raise StoreError(f"database error: IntegrityError: duplicate task id {task.id!r}")
            if idempotency is not None:
                earlier = self._live_record(key.id, idempotency)
                if earlier is not None:
                    return earlier.task_for(idempotency)
            if key.credits is not None:
                reserved = sum(
                    t.spec.credits
                    for t in self._state.tasks.values()
                    if t.key_id == key.id and t.state not in TERMINAL_STATES
                )
                if key.credits - reserved < task.spec.credits:
                    raise CreditInsufficient()
            if limits is not None and not task.spec.off_peak:
                waiting = [
                    t for t in self._state.tasks.values() if t.state in WAITING_STATES and not t.spec.off_peak
                ]
                if sum(t.key_id == key.id for t in waiting) >= limits.per_key:
                    raise KeyQueueFull()
                if len(waiting) >= limits.total:
                    raise SystemThrottling()
            self._state.tasks[stored.id] = stored
            if idempotency is not None:
                made = IdempotencyRecord(task.id, idempotency.request_hash)
                self._state.idempotency[(key.id, idempotency.key)] = (made, as_utc(idempotency.at))
        return task.id

    def find_idempotent(self, key_id: str, create: IdempotentCreate) -> str | None:
        with self._state.lock:
            found = self._live_record(key_id, create)
        return None if found is None else found.task_for(create)

    def _live_record(self, key_id: str, create: IdempotentCreate) -> IdempotencyRecord | None:
        """Call with the lock held."""
        found = self._state.idempotency.get((key_id, create.key))
        if found is None:
            return None
        made, at = found
        if at < as_utc(create.since) or made.task_id not in self._state.tasks:
            return None
        return made

    def get_task(self, task_id: str) -> Task | None:
        with self._state.lock:
            task = self._state.tasks.get(task_id)
            return None if task is None else copy.deepcopy(task)

    def list_tasks(self, key_id: str, limit: int = 100) -> list[Task]:
        """The key's tasks, newest first."""
        with self._state.lock:
            mine = [t for t in self._state.tasks.values() if t.key_id == key_id]
            mine.sort(key=lambda t: (t.created_at, t.id), reverse=True)
            return [copy.deepcopy(t) for t in mine[:limit]]

    def query_tasks(self, query: TaskQuery) -> list[Task]:
        with self._state.lock:
            found = sorted(filter(query.matches, self._state.tasks.values()), key=list_order, reverse=True)
            return [copy.deepcopy(t) for t in found[query.offset : query.offset + query.limit]]

    def key_usage(self, key_id: str) -> KeyUsage:
        with self._state.lock:
            key = self._state.keys.get(key_id)
            mine = [t for t in self._state.tasks.values() if t.key_id == key_id]
            return KeyUsage(
                balance=None if key is None else key.credits,
                charged=self._state.swept_credits.get(key_id, 0)
                + sum(t.spec.credits for t in mine if t.state is TaskState.SUCCESS),
                held=sum(t.spec.credits for t in mine if t.state not in TERMINAL_STATES),
                processing=sum(t.state is TaskState.PROCESSING for t in mine),
                waiting=sum(t.state in WAITING_STATES for t in mine),
            )

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        now = as_utc(now)
        with self._state.lock:
            task = self._state.tasks.get(task_id)
            if task is None:
                raise TaskNotFound()
            self._state.apply(task, lifecycle.request_cancel(task.state, now=now))
            return copy.deepcopy(task)

    def mark_queueing(self, task_id: str) -> None:
        with self._state.lock:
            task = self._state.tasks.get(task_id)
            if task is not None:
                self._state.apply(task, lifecycle.mark_queueing())

    def queue_depth(self) -> list[QueueCount]:
        with self._state.lock:
            counts = Counter(
                (t.state, t.spec.kind, t.spec.model)
                for t in self._state.tasks.values()
                if t.state not in TERMINAL_STATES
            )
        return [QueueCount(state, kind, model, n) for (state, kind, model), n in counts.items()]
