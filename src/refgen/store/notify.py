"""Wake-ups across machines: PostgreSQL ``LISTEN/NOTIFY`` on one channel, ``refgen_tasks``.

The API process notifies after it queues a task; every idle worker listening on the channel wakes
at once instead of waiting for its next poll. Notifications are only a hint: the task row stays the
single source of truth, and workers still poll slowly in case a notification is missed (e.g. while
a listener reconnects). On SQLite there is nothing to listen to: an embedded server wakes its own
worker processes directly.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger("refgen.store")

CHANNEL = "refgen_tasks"


class Wakeable(Protocol):
    def set(self) -> None: ...


class TaskNotifier:
    """Sends the wake-up; a no-op unless the database is PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine if engine.dialect.name == "postgresql" else None

    def notify(self) -> None:
        if self._engine is None:
            return
        try:
            with self._engine.begin() as connection:
                connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        except Exception as exc:  # a lost hint is harmless: workers poll
            log.warning("could not notify workers: %s", exc)


class TaskListener:
    """A thread holding one PostgreSQL connection that sets ``wake`` on every notification."""

    def __init__(self, url: str, wake: Wakeable, *, reconnect_seconds: float = 2.0) -> None:
        parsed = make_url(url)
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
        self._reconnect = reconnect_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="task-listener", daemon=True)

    @staticmethod
    def wanted(url: str) -> bool:
        return make_url(url).get_backend_name() == "postgresql"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=0.5):
                            self._wake.set()
            except psycopg.Error as exc:
                log.warning("task listener lost its connection: %s; retrying", exc)
                self._stop.wait(self._reconnect)
