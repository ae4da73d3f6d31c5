"""A claimed task's lease: renewed in the background, carrying progress and the cancel flag."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from refgen.background import BackgroundLoop
from refgen.errors import StoreError
from refgen.store.base import TaskQueue

log = logging.getLogger("refgen.worker")


class TaskLease(BackgroundLoop):
    """Renews the lease every ``interval`` seconds while the task runs (``with lease:``).

    It is the backend's cancel token (cancelled when the client cancelled or the lease was lost) and
    its progress sink. Progress stops at 99 here; 100 is written when the task completes.
    """

    def __init__(
        self,
        queue: TaskQueue,
        task_id: str,
        worker_id: str,
        *,
        lease_seconds: float,
        interval: float,
        clock: Callable[[], datetime],
        abort: threading.Event | None = None,
    ) -> None:
        super().__init__(f"lease-{task_id}", interval)
        self._queue = queue
        self._task_id = task_id
        self._worker_id = worker_id
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._progress = 0
        self._cancelled = threading.Event()
        self._lost = threading.Event()
        self._abort = abort or threading.Event()

    @property
    def progress(self) -> int:
        return self._progress

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancelled.is_set()

    def report(self, step: int, total: int) -> None:
        if total > 0:
            self._progress = max(self._progress, min(99, step * 100 // total))

    def is_cancelled(self) -> bool:
        return self._cancelled.is_set() or self._lost.is_set() or self._abort.is_set()

    def beat(self) -> None:
        try:
            heartbeat = self._queue.heartbeat(
                self._task_id, self._worker_id, self._progress, self._lease_seconds, self._clock()
            )
        except StoreError as exc:
            log.warning("heartbeat for task %s failed: %s", self._task_id, exc)
            return
        if not heartbeat.still_owner:
            self._lost.set()
        if heartbeat.cancel_requested:
            self._cancelled.set()

    def tick(self) -> None:
        self.beat()
