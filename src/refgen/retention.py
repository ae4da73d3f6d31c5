"""Retention: finished tasks, their files and their callbacks are removed once they are old enough.

A task that ended (``success`` or ``failed``, cancelled ones included) more than
``REFGEN_RETENTION_DAYS`` days ago is removed by :class:`RetentionSweeper`: every file under its
folder in the file store (references, watermark, the output of every attempt, including what
workers that died mid-task left behind), its callback deliveries with their attempts, and its row.
Waiting and processing tasks are never touched, nor a task whose callback is still to be sent.
Afterwards the task is unknown: Get Generation and cancel answer 404 ``TaskNotFound`` and the task
list no longer shows it. The credits a removed ``success`` task was charged stay counted.

Files go before rows (see :meth:`~refgen.store.base.TaskRetention.sweep_finished`): a crash half-way
leaves a row whose files are partly gone, which the next sweep finishes, and never files that no row
points at, which nothing would ever find again.

Every API process runs a sweeper; they may run at once on one database: on PostgreSQL each takes its
batch ``FOR UPDATE SKIP LOCKED``, so they share the work; elsewhere a task taken by two at once is
removed once. A sweep works in batches of :data:`BATCH` tasks until none is left, once when the
sweeper starts and then every :data:`INTERVAL` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from refgen.background import BackgroundLoop
from refgen.clock import utcnow
from refgen.errors import RefgenError
from refgen.files.base import FileStore, task_prefix
from refgen.store.base import TaskRetention

log = logging.getLogger("refgen")

BATCH = 100
"""Tasks removed per store call (one transaction each)."""

INTERVAL = 600.0
"""Seconds between sweeps."""


class RetentionSweeper(BackgroundLoop):
    """Removes tasks that finished more than ``days`` days ago: once at start, then every ``interval``
    seconds (:meth:`sweep_once`)."""

    tick_at_start = True

    def __init__(
        self,
        retention: TaskRetention,
        files: FileStore,
        *,
        days: int,
        batch: int = BATCH,
        interval: float = INTERVAL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if days < 1:
            raise ValueError(
                f"retention must be at least one day (0 keeps tasks forever: no sweeper): {days}"
            )
        if batch < 1:
            raise ValueError(f"batch must be at least 1: {batch}")
        super().__init__("retention", interval)
        self._retention = retention
        self._files = files
        self._keep = timedelta(days=days)
        self._batch = batch
        self._clock = clock

    def sweep_once(self) -> list[str]:
        """Remove, batch after batch, every task that finished before now minus the retention;
        returns their ids. A store or file-store error ends the sweep (logged): what was not removed
        is taken again next time."""
        cutoff = self._clock() - self._keep
        removed: list[str] = []
        while not self.stopping:
            try:
                batch = self._retention.sweep_finished(cutoff, self._batch, self._discard_files)
            except RefgenError as exc:
                log.warning("retention sweep stopped: %s (the rest is taken next time)", exc)
                break
            removed.extend(batch)
            if len(batch) < self._batch:
                break
        if removed:
            log.info("retention removed %d tasks that finished before %s", len(removed), cutoff.isoformat())
        return removed

    def _discard_files(self, task_ids: Sequence[str]) -> None:
        for task_id in task_ids:
            self._files.delete_prefix(task_prefix(task_id))

    def tick(self) -> None:
        self.sweep_once()
