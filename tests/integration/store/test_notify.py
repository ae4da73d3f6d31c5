"""Wake-ups across processes on real PostgreSQL: the notifier's NOTIFY sets the listener's wake."""

from __future__ import annotations

import threading
import time

from refgen.store.engine import make_engine
from refgen.store.notify import TaskListener, TaskNotifier


def test_task_listener_wakes_on_notify_and_stops(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    wake = threading.Event()
    listener = TaskListener(postgres_url, wake)
    others = set(threading.enumerate())  # other servers of the test run may listen too
    try:
        with listener:
            [thread] = [t for t in threading.enumerate() if t not in others and t.name == "task-listener"]
            # The listener connects in its own thread: notify until it has heard one.
            deadline = time.monotonic() + 30
            while not wake.is_set():
                assert time.monotonic() < deadline, "the listener never heard a notification"
                TaskNotifier(engine).notify()
                wake.wait(0.1)
        assert not listener.started
        assert not thread.is_alive()
    finally:
        engine.dispose()


def test_task_listener_is_wanted_only_for_postgresql() -> None:
    assert TaskListener.wanted("postgresql+psycopg://u@h/db")
    assert not TaskListener.wanted("sqlite:///refgen.db")
