"""Wake-ups across machines: PostgreSQL ``LISTEN/NOTIFY`` on one channel, ``refgen_tasks``.

The API process notifies after it queues a task; every idle worker listening on the channel wakes
at once instead of waiting for its next poll. Notifications are only a hint: the task row stays the
single source of truth, and workers still poll slowly in case a notification is missed (e.g. while
a listener reconnects). On SQLite there is nothing to listen to: an embedded server wakes its own
worker processes directly.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from refgen.background import BackgroundLoop

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


class TaskListener(BackgroundLoop):
    """A thread holding one PostgreSQL connection that sets ``wake`` on every notification.

    It looks at :attr:`stopping` every ``interval`` seconds while listening, and reconnects
    ``reconnect_seconds`` after losing its connection."""

    stop_timeout = 5.0

    def __init__(self, url: str, wake: Wakeable, *, reconnect_seconds: float = 2.0) -> None:
        super().__init__("task-listener", 0.5)
        parsed = make_url(url)
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
        self._reconnect = reconnect_seconds

    @staticmethod
    def wanted(url: str) -> bool:
        return make_url(url).get_backend_name() == "postgresql"

    def run(self) -> None:
        import psycopg

        while not self.stopping:
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self.stopping:
                        for _ in connection.notifies(timeout=self.interval):
                            self._wake.set()
            except psycopg.Error as exc:
                log.warning("task listener lost its connection: %s; retrying", exc)
                self.wait(self._reconnect)
