"""The reaper: puts back tasks whose worker stopped renewing its lease, and expires off-peak tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from refgen.background import BackgroundLoop
from refgen.clock import utcnow
from refgen.errors import StoreError
from refgen.store.base import TaskQueue

log = logging.getLogger("refgen.worker")


class Reaper(BackgroundLoop):
    """Every ``interval`` seconds, requeues or fails the tasks of silent workers (:meth:`reap_once`)."""

    def __init__(
        self,
        queue: TaskQueue,
        *,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
        interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__("reaper", interval)
        self._queue = queue
        self._max_attempts = max_attempts
        self._expiry = off_peak_expiry_seconds
        self._worker_timeout = worker_timeout
        self._clock = clock

    def reap_once(self) -> list[str]:
        try:
            changed = self._queue.reap(self._clock(), self._max_attempts, self._expiry, self._worker_timeout)
        except StoreError as exc:
            log.warning("reaper cannot reach the store: %s", exc)
            return []
        if changed:
            log.info("reaper changed tasks %s", ", ".join(changed))
        return changed

    def tick(self) -> None:
        self.reap_once()
