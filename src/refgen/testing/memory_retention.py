"""Retention in the in-memory store: removing finished tasks, oldest first, with their callbacks.

As the SQL store does on SQLite: the batch is read under the lock, its files discarded with the
lock released, and the tasks still eligible deleted under the lock again (with their deliveries
and attempts); a swept ``success`` task's credits stay counted as charged for its key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from refgen.domain import TERMINAL_STATES, TaskState
from refgen.store.base import DeliveryStatus
from refgen.store.times import as_utc
from refgen.testing.memory_state import MemoryState


class MemoryRetention:
    """:class:`~refgen.store.base.TaskRetention` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def sweep_finished(
        self, finished_before: datetime, limit: int, discard_files: Callable[[Sequence[str]], None]
    ) -> list[str]:
        before = as_utc(finished_before)
        with self._state.lock:
            eligible = sorted(
                (task.finished_at, task.id)
                for task in self._state.tasks.values()
                if self._eligible(task.id, before)
            )
            taken = [task_id for _, task_id in eligible[:limit]]
        if not taken:
            return []
        discard_files(taken)
        with self._state.lock:
            ids = [task_id for task_id in taken if self._eligible(task_id, before)]
            for task_id in ids:
                self._delete(task_id)
            return ids

    # --- call with the lock held ----------------------------------------------------------------

    def _eligible(self, task_id: str, before: datetime) -> bool:
        """Finished before ``before``, and no callback of the task is still to be sent."""
        task = self._state.tasks.get(task_id)
        if task is None or task.state not in TERMINAL_STATES or task.finished_at is None:
            return False
        pending = any(
            d.task_id == task_id and d.status is DeliveryStatus.PENDING
            for d in self._state.deliveries.values()
        )
        return task.finished_at < before and not pending

    def _delete(self, task_id: str) -> None:
        task = self._state.tasks.pop(task_id)
        if task.state is TaskState.SUCCESS:
            key_id = task.key_id
            self._state.swept_credits[key_id] = self._state.swept_credits.get(key_id, 0) + task.spec.credits
        for delivery_id in [d.id for d in self._state.deliveries.values() if d.task_id == task_id]:
            del self._state.deliveries[delivery_id]
            self._state.attempts.pop(delivery_id, None)
