"""A worker's registration: it says who it is when it starts, that it is alive every few seconds,
and that it stopped when it stops. The API's readiness and the reaper read it."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime

from refgen.background import BackgroundLoop
from refgen.errors import StoreError
from refgen.store.base import WorkerInfo, WorkerRegistry

log = logging.getLogger("refgen.worker")


class WorkerPresence(BackgroundLoop):
    """Registers the worker when started, renews it every ``interval`` seconds, and records that
    it stopped when stopped (``with presence:``)."""

    def __init__(
        self,
        registry: WorkerRegistry,
        worker_id: str,
        models: Sequence[str],
        *,
        interval: float,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(f"presence-{worker_id}", interval)
        self._registry = registry
        self._worker_id = worker_id
        self._models = tuple(models)
        self._clock = clock

    def start(self) -> None:
        if self.started:
            return
        now = self._clock()
        info = WorkerInfo(self._worker_id, socket.gethostname(), os.getpid(), self._models, now, now)
        self._registry.register_worker(info)
        super().start()

    def stop(self) -> None:
        if not self.started:
            return
        super().stop()
        try:
            self._registry.worker_stopped(self._worker_id, self._clock())
        except StoreError as error:
            log.warning("could not record that worker %s stopped: %s", self._worker_id, error)

    def tick(self) -> None:
        try:
            self._registry.worker_seen(self._worker_id, self._clock())
        except StoreError as error:
            log.warning("worker %s could not renew its registration: %s", self._worker_id, error)
