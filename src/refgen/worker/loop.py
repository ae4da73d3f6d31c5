"""The worker loop: claim a task, run it under a lease, record the outcome; repeat."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from refgen.backends.base import GenerationBackend
from refgen.backends.registry import describe
from refgen.clock import utcnow
from refgen.domain import Creation, Route, Task
from refgen.errors import BackendError, GenerationCancelled, StoreError
from refgen.files.base import FileStore
from refgen.store.base import TaskQueue
from refgen.worker.execute import earlier_output_prefixes, execute_task, output_prefix
from refgen.worker.lease import TaskLease
from refgen.worker.outcome import Outcome, Verdict, decide

if TYPE_CHECKING:  # imported by the caller: a worker process picks how metrics count first
    from refgen.metrics.families import TaskMetrics

log = logging.getLogger("refgen.worker")


def new_worker_id() -> str:
    return f"worker-{uuid.uuid4().hex[:12]}"


class Signal(Protocol):
    """A threading or multiprocessing Event."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def clear(self) -> None: ...

    def set(self) -> None: ...


@dataclass(frozen=True)
class WorkerTiming:
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 0.5
    poll_seconds: float = 0.2


class Worker:
    """Claims tasks for the models it has backends for and runs them one at a time."""

    def __init__(
        self,
        queue: TaskQueue,
        files: FileStore,
        backends: Mapping[Route, GenerationBackend],
        *,
        worker_id: str | None = None,
        timing: WorkerTiming = WorkerTiming(),
        clock: Callable[[], datetime] = utcnow,
        scratch: Path | None = None,
        metrics: TaskMetrics | None = None,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self._queue = queue
        self._files = files
        self._backends = dict(backends)
        self._timing = timing
        self._clock = clock
        self._scratch = scratch
        self._metrics = metrics
        self._handing_back = threading.Event()

    def hand_back(self) -> None:
        """Stop the current generation at its next step and put the task back in the queue for
        another worker (graceful shutdown that cannot wait for the task to finish)."""
        self._handing_back.set()

    @property
    def routes(self) -> list[Route]:
        """The (kind, model) pairs this worker claims tasks for."""
        return sorted(self._backends)

    @property
    def models(self) -> list[str]:
        """The routes as people read them (``viduq1:reference2video``)."""
        return [describe(route) for route in self.routes]

    def run_once(self) -> bool:
        """Claim and run one task; False when there was none."""
        task = self._queue.claim(self.worker_id, self.routes, self._timing.lease_seconds, self._clock())
        if task is None:
            return False
        self.run_task(task)
        return True

    def run(self, stop: Signal, wake: Signal | None = None) -> None:
        """Run tasks until ``stop`` is set; sleep ``poll_seconds`` (or until ``wake``) when idle."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except StoreError as exc:
                log.warning("worker %s cannot reach the store: %s", self.worker_id, exc)
                busy = False
            if busy:
                continue
            if wake is None:
                stop.wait(self._timing.poll_seconds)
            elif wake.wait(self._timing.poll_seconds):
                wake.clear()

    def run_task(self, task: Task) -> None:
        """Run the task under a lease, turn what happened into an outcome
        (:func:`~refgen.worker.outcome.decide`) and apply it."""
        lease = TaskLease(
            self._queue,
            task.id,
            self.worker_id,
            lease_seconds=self._timing.lease_seconds,
            interval=self._timing.heartbeat_seconds,
            clock=self._clock,
            abort=self._handing_back,
        )
        backend = self._backends[(task.spec.kind, task.spec.model)]
        with lease:
            result: Creation | Exception
            try:
                result = execute_task(task, backend, self._files, lease, self._scratch)
            except GenerationCancelled as exc:
                result = exc
            except BackendError as exc:
                log.warning("task %s failed in %s: %s", task.id, backend.name, exc)
                result = exc
            except Exception as exc:
                log.exception("task %s failed in %s", task.id, backend.name)
                result = exc
            else:
                lease.beat()  # learn of a cancel or a lost lease that came in while encoding
            outcome = decide(
                result,
                cancel_requested=lease.cancel_requested,
                lease_lost=lease.lost,
                handing_back=self._handing_back.is_set(),
            )
            ended = self._apply(task, outcome)
        if ended and self._metrics is not None:
            seconds = (self._clock() - task.started_at).total_seconds() if task.started_at else 0.0
            self._metrics.ended(task.spec.kind, task.spec.model, backend.name, outcome.err_code, seconds)

    def _apply(self, task: Task, outcome: Outcome) -> bool:
        """Apply the outcome; True when it ended the task as the outcome says."""
        if outcome.delete_outputs:
            self._files.delete_prefix(output_prefix(task))
        if outcome.verdict is Verdict.HAND_BACK:
            released = self._queue.release_worker(self.worker_id, self._clock())
            log.info("worker %s handed back %s", self.worker_id, ", ".join(released))
            return False
        if outcome.verdict is Verdict.DISCARD:
            log.info("task %s: lease lost, leaving it to its new owner", task.id)
            return False
        if outcome.verdict is Verdict.FAIL:
            assert outcome.err_code is not None
            if not self._queue.fail(task.id, self.worker_id, outcome.err_code, self._clock()):
                return False
        else:
            assert outcome.creation is not None
            if not self._queue.complete(task.id, self.worker_id, [outcome.creation], self._clock()):
                log.warning("task %s finished after its lease was lost; result discarded", task.id)
                self._files.delete_prefix(output_prefix(task))
                return False
        self._delete_earlier_attempts(task)
        return True

    def _delete_earlier_attempts(self, task: Task) -> None:
        """The task has ended with this attempt: what earlier attempts left (their workers died before
        they could clean up) is nobody's any more. A worker that lost its lease removes its own files
        when it notices, so only a finished task's last attempt keeps files."""
        for prefix in earlier_output_prefixes(task):
            self._files.delete_prefix(prefix)
