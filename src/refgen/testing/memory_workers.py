"""The worker registry in the in-memory store: register, mark seen, mark stopped and list workers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from refgen.store.base import WorkerInfo
from refgen.store.times import as_utc
from refgen.testing.memory_state import MemoryState


class MemoryWorkers(MemoryState):
    """:class:`~refgen.store.base.WorkerRegistry` in memory."""

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
