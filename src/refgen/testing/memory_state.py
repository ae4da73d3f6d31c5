"""The in-memory store's state: keys, tasks, deliveries and workers in dictionaries behind one lock,
and the callback every state change queues under that lock (as the SQL store does in the same
transaction). Every part of :class:`~refgen.testing.store.MemoryStore` builds on
:class:`MemoryState`.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

from refgen.domain import Task, TaskState
from refgen.store.base import ApiKey, CallbackAttempt, CallbackDelivery, DeliveryStatus, WorkerInfo

WAITING = frozenset({TaskState.CREATED, TaskState.QUEUEING})
FINISHED = frozenset({TaskState.SUCCESS, TaskState.FAILED})


class MemoryState:
    """The dictionaries behind one lock; the methods of the parts take the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._tasks: dict[str, Task] = {}
        self._deliveries: dict[str, CallbackDelivery] = {}  # in insertion order; no history
        self._attempts: dict[str, list[CallbackAttempt]] = {}
        self._workers: dict[str, WorkerInfo] = {}

    # --- internals (call with the lock held) -------------------------------------------------

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
