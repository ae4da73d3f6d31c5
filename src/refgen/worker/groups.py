"""Groups of workers the server runs: child processes (production) or threads (tests, debugging).

A crash in generation never takes the API down: each process worker is a spawned child. The
supervisor notices a dead child within half a second, puts its task back in the queue at once (no
waiting for the lease to run out) and starts a replacement.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, Protocol

from refgen.background import BackgroundLoop
from refgen.clock import utcnow
from refgen.errors import StoreError
from refgen.store.base import TaskQueue
from refgen.worker.loop import Worker, new_worker_id

log = logging.getLogger("refgen.worker")


class WorkerGroup(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def alive(self) -> int: ...

    def wake(self) -> None:
        """A task was queued: idle workers look for it now."""


class ThreadWorkers:
    """Workers as threads of this process, sharing its store and backends."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self._workers = list(workers)
        self._stop = threading.Event()
        self._wakes = [threading.Event() for _ in self._workers]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for worker, wake in zip(self._workers, self._wakes, strict=True):
            thread = threading.Thread(
                target=worker.run, args=(self._stop, wake), name=worker.worker_id, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def alive(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        for wake in self._wakes:
            wake.set()


@dataclass
class _Slot:
    worker_id: str
    process: SpawnProcess
    stop: ProcessEvent
    wake: ProcessEvent


class ProcessWorkers(BackgroundLoop):
    """``count`` spawned worker processes, kept at that number: every ``check_seconds`` a
    supervisor thread replaces the dead ones (:meth:`tick`)."""

    def __init__(
        self,
        count: int,
        target: Callable[..., None],
        target_args: tuple[Any, ...],
        queue: TaskQueue,
        *,
        max_attempts: int,
        check_seconds: float = 0.5,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__("worker-supervisor", check_seconds)
        self._count = count
        self._target = target
        self._target_args = target_args
        self._queue = queue
        self._max_attempts = max_attempts
        self._clock = clock
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()

    def _spawn(self) -> _Slot:
        worker_id = new_worker_id()
        stop = self._context.Event()
        wake = self._context.Event()
        process = self._context.Process(
            target=self._target, args=(*self._target_args, worker_id, stop, wake), name=worker_id, daemon=True
        )
        process.start()
        log.info("started worker %s (pid %s)", worker_id, process.pid)
        return _Slot(worker_id, process, stop, wake)

    def start(self) -> None:
        if self.started:
            return
        with self._lock:
            self._slots = [self._spawn() for _ in range(self._count)]
        super().start()

    def tick(self) -> None:
        with self._lock:
            for i, slot in enumerate(self._slots):
                if slot.process.is_alive() or self.stopping:
                    continue
                log.warning(
                    "worker %s died (exit code %s); restarting it", slot.worker_id, slot.process.exitcode
                )
                slot.process.close()
                self._release(slot.worker_id)
                self._slots[i] = self._spawn()

    def _release(self, worker_id: str) -> None:
        try:
            released = self._queue.release_worker(worker_id, self._clock(), self._max_attempts)
        except StoreError as exc:
            log.warning("cannot requeue the tasks of worker %s: %s (the reaper will)", worker_id, exc)
            return
        if released:
            log.info("requeued %s from worker %s", ", ".join(released), worker_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the supervisor, then each worker: ``timeout`` seconds to finish its task, then it
        is told to hand the task back."""
        super().stop()
        with self._lock:
            for slot in self._slots:
                slot.stop.set()
                slot.wake.set()
            for slot in self._slots:
                slot.process.join(timeout)
                if slot.process.is_alive():
                    log.warning(
                        "worker %s did not stop in %.0f s; handing its task back", slot.worker_id, timeout
                    )
                    slot.process.terminate()  # SIGTERM: the worker stops generation and hands the task back
                    slot.process.join(10)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(5)
                self._release(slot.worker_id)
                slot.process.close()
            self._slots = []

    def alive(self) -> int:
        with self._lock:
            return sum(slot.process.is_alive() for slot in self._slots)

    def wake(self) -> None:
        with self._lock:
            for slot in self._slots:
                slot.wake.set()
