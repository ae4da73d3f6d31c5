"""The in-memory store's state: keys, tasks, deliveries and workers in dictionaries behind one lock;
applying a :class:`~refgen.lifecycle.TaskChange` to a task, with the charge and the callback it
names, under that lock (as the SQL store does in one transaction). Every part of
:class:`~refgen.testing.store.MemoryStore` is given the store's one :class:`MemoryState`.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from refgen.domain import ApiKey, Task, TaskState
from refgen.lifecycle import TaskChange
from refgen.store.base import CallbackAttempt, CallbackDelivery, IdempotencyRecord, WorkerInfo, new_delivery


class MemoryState:
    """The dictionaries behind one lock; the methods of the parts take the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, ApiKey] = {}
        self.tasks: dict[str, Task] = {}
        self.deliveries: dict[str, CallbackDelivery] = {}  # in insertion order; no history
        self.attempts: dict[str, list[CallbackAttempt]] = {}
        self.workers: dict[str, WorkerInfo] = {}
        self.swept_credits: dict[str, int] = {}  # key id -> credits of its swept success tasks
        # (key id, Idempotency-Key) → the record and when it was made; a record whose task is no
        # longer in ``tasks`` is gone, as the SQL store's rows go with their task (ON DELETE CASCADE)
        self.idempotency: dict[tuple[str, str], tuple[IdempotencyRecord, datetime]] = {}

    # --- call with the lock held ----------------------------------------------------------------

    def apply(self, task: Task, change: TaskChange) -> bool:
        """Apply ``change`` to the stored ``task`` if it is still in ``change.expected``."""
        if task.state is not change.expected:
            return False
        if change.state is not None:
            task.state = change.state
        if change.err_code is not None:
            task.err_code = change.err_code.value
        if change.progress is not None:
            task.progress = change.progress
        if change.lease is not None:
            task.worker_id, task.lease_expires_at = change.lease.worker_id, change.lease.expires_at
        if change.end_lease:
            task.lease_expires_at = None
        if change.forget_worker:
            task.worker_id = None
        if change.count_attempt:
            task.attempts += 1
        if change.started_at is not None:
            task.started_at = change.started_at
        if change.finished_at is not None:
            task.finished_at = change.finished_at
        if change.cancel_requested:
            task.cancel_requested = True
        if change.creations is not None:
            task.creations = list(change.creations)
        if change.charge:
            key = self.keys[task.key_id]
            if key.credits is not None:
                self.keys[key.id] = replace(key, credits=key.credits - task.spec.credits)
        if change.callback is not None:
            self.enqueue_callback(task, change.callback.state, change.callback.at)
        return True

    def enqueue_callback(self, task: Task, state: TaskState, now: datetime) -> None:
        """Queue the callback reporting ``state``, if the task has a ``callback_url``."""
        if not task.spec.callback_url:
            return
        delivery = new_delivery(task.id, task.key_id, state, task.spec.callback_url, task.progress, now)
        self.deliveries[delivery.id] = delivery
        self.attempts[delivery.id] = []
