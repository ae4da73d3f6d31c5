"""The entry point of a spawned worker process: it builds its own store, files and backends."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from refgen.worker.loop import Signal


def worker_process_main(settings_data: dict[str, Any], worker_id: str, stop: Signal, wake: Signal) -> None:
    from refgen.settings import Settings
    from refgen.worker.assembly import assemble_worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    _stop_when_orphaned(stop)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {worker_id} %(levelname)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # as in the API process
    assembled = assemble_worker(Settings(**settings_data), wake, worker_id=worker_id, migrate=False)

    def on_sigterm(signum: int, frame: object) -> None:  # the server gave up waiting: hand the task back
        stop.set()
        assembled.worker.hand_back()

    signal.signal(signal.SIGTERM, on_sigterm)
    assembled.run(stop)


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
