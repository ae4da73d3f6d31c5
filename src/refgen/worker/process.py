"""The entry point of a spawned worker process: it builds its own store, files and backends."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from refgen.worker.loop import Signal


def worker_process_main(settings_data: dict[str, Any], worker_id: str, stop: Signal, wake: Signal) -> None:
    from refgen.backends.registry import build_backends, model_routes
    from refgen.runtime import open_files, open_store
    from refgen.settings import Settings
    from refgen.store.notify import TaskListener
    from refgen.worker.loop import Worker, WorkerTiming, utcnow
    from refgen.worker.presence import WorkerPresence

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    _stop_when_orphaned(stop)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {worker_id} %(levelname)s %(message)s")
    settings = Settings(**settings_data)
    store = open_store(settings, migrate=False)
    files = open_files(settings)
    backends = build_backends(model_routes(settings.model_map))
    timing = WorkerTiming(lease_seconds=settings.lease_seconds, heartbeat_seconds=settings.heartbeat_seconds)
    listener = None
    if TaskListener.wanted(settings.resolved_database_url):
        listener = TaskListener(settings.resolved_database_url, wake)
        listener.start()
    worker = Worker(store.queue, files, backends, worker_id=worker_id, timing=timing)

    def on_sigterm(signum: int, frame: object) -> None:  # the server gave up waiting: hand the task back
        stop.set()
        worker.hand_back()

    signal.signal(signal.SIGTERM, on_sigterm)
    presence = WorkerPresence(
        store.workers, worker_id, worker.models, interval=settings.heartbeat_seconds * 4, clock=utcnow
    )
    try:
        with presence:
            worker.run(stop, wake)
    finally:
        if listener is not None:
            listener.stop()
        for backend in backends.values():
            backend.close()


def _stop_when_orphaned(stop: Signal, interval: float = 0.5) -> None:
    """Stop the worker when the server that started it is gone (its task is then reaped)."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(interval):
            if os.getppid() != parent:
                logging.getLogger("refgen.worker").warning("server process is gone; stopping")
                stop.set()
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
