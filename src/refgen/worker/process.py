"""The entry point of a spawned worker process: it builds its own store, files and backends, logs
in the server's format and counts its runs where the server's ``/metrics`` reads them."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from refgen.worker.loop import Signal


def worker_process_main(
    settings_data: dict[str, Any], metrics_dir: str, worker_id: str, stop: Signal, wake: Signal
) -> None:
    """Run one worker until ``stop``; its runs are counted into the files in ``metrics_dir``,
    which the server adds up when ``/metrics`` is scraped."""
    from refgen.metrics.exposition import count_into

    count_into(metrics_dir)  # before any metric exists in this process

    from refgen.logs import configure_logging
    from refgen.metrics.families import TaskMetrics
    from refgen.settings import Settings
    from refgen.worker.assembly import assemble_worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    _stop_when_orphaned(stop)
    settings = Settings(**settings_data)
    configure_logging(settings, process=worker_id)
    assembled = assemble_worker(
        settings, wake, worker_id=worker_id, migrate=False, metrics=TaskMetrics(registry=None)
    )

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
