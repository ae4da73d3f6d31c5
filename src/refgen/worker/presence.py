"""A worker's registration: it says who it is when it starts, that it is alive every few seconds,
and that it stopped when it stops. The API's readiness and the reaper read it."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType

from refgen.errors import StoreError
from refgen.store.base import WorkerInfo, WorkerRegistry

log = logging.getLogger("refgen.worker")


class WorkerPresence:
    def __init__(
        self,
        registry: WorkerRegistry,
        worker_id: str,
        models: Sequence[str],
        *,
        interval: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._registry = registry
        self._worker_id = worker_id
        self._models = tuple(models)
        self._interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"presence-{worker_id}", daemon=True)

    def __enter__(self) -> WorkerPresence:
        now = self._clock()
        info = WorkerInfo(self._worker_id, socket.gethostname(), os.getpid(), self._models, now, now)
        self._registry.register_worker(info)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._registry.worker_stopped(self._worker_id, self._clock())
        except StoreError as error:
            log.warning("could not record that worker %s stopped: %s", self._worker_id, error)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._registry.worker_seen(self._worker_id, self._clock())
            except StoreError as error:
                log.warning("worker %s could not renew its registration: %s", self._worker_id, error)
