"""The worker registry in the in-memory store: register, mark seen, mark stopped and list workers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from refgen.store.base import WorkerInfo
from refgen.store.times import as_utc
from refgen.testing.memory_state import MemoryState


class MemoryWorkers:
    """:class:`~refgen.store.base.WorkerRegistry` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def register_worker(self, worker: WorkerInfo) -> None:
        with self._state.lock:
            self._state.workers[worker.id] = replace(
                worker,
                started_at=as_utc(worker.started_at),
                last_seen_at=as_utc(worker.last_seen_at),
                stopped_at=None,
            )

    def worker_seen(self, worker_id: str, now: datetime) -> None:
        with self._state.lock:
            worker = self._state.workers.get(worker_id)
            if worker is not None and worker.stopped_at is None:
                self._state.workers[worker_id] = replace(worker, last_seen_at=as_utc(now))

    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self._state.lock:
            worker = self._state.workers.get(worker_id)
            if worker is not None and worker.stopped_at is None:
                self._state.workers[worker_id] = replace(worker, stopped_at=as_utc(now))

    def list_workers(self) -> list[WorkerInfo]:
        with self._state.lock:
            return sorted(self._state.workers.values(), key=lambda w: (-w.started_at.timestamp(), w.id))
