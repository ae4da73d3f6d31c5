"""Background work with one shape: a named thread that starts, stops and reports the same way.

Every periodic job in refgen (a task's lease, a worker's registration, the reaper, the process
supervisor, the callback dispatcher, the PostgreSQL listener) is a :class:`BackgroundLoop`:

- :meth:`~BackgroundLoop.start` runs it in a daemon thread named after it; starting a running
  loop does nothing;
- :meth:`~BackgroundLoop.stop` asks it to stop and waits for its thread; stopping a stopped loop
  does nothing; ``with loop:`` starts and stops it;
- by default its thread calls :meth:`~BackgroundLoop.tick` every ``interval`` seconds (the first
  time at once when :attr:`~BackgroundLoop.tick_at_start` says so); a loop
  that waits on something else (a socket, an event loop) overrides :meth:`~BackgroundLoop.run`,
  checks :attr:`~BackgroundLoop.stopping`, and :meth:`~BackgroundLoop.interrupt` wakes it;
- an exception in a tick is logged and the loop goes on; one that ends ``run`` is logged.

:class:`Service` is what the server starts and stops: a loop, or anything with the two methods.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Protocol, Self

log = logging.getLogger("refgen")


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class BackgroundLoop:
    """A daemon thread named ``name`` that calls :meth:`tick` every ``interval`` seconds."""

    stop_timeout: float | None = None
    """Seconds :meth:`stop` waits for the thread; None: as long as it takes."""

    tick_at_start: bool = False
    """Whether the first :meth:`tick` comes as soon as the thread starts, not one ``interval`` later."""

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called: ``run`` should return soon."""
        return self._stopping.is_set()

    @property
    def started(self) -> bool:
        """Whether it was started and has not been stopped since."""
        return self._thread is not None

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` or until stopped; True if stopped."""
        return self._stopping.wait(seconds)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self.interrupt()
        thread.join(self.stop_timeout)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def tick(self) -> None:
        """One round of work; override it (or :meth:`run`)."""

    def run(self) -> None:
        """The thread's body: :meth:`tick` every ``interval`` seconds until stopped."""
        pause = 0.0 if self.tick_at_start else self.interval
        while not self.wait(pause):
            pause = self.interval
            try:
                self.tick()
            except Exception:
                log.exception("%s failed; trying again in %g s", self.name, self.interval)

    def interrupt(self) -> None:
        """Called by :meth:`stop` after :attr:`stopping` is set: wake a ``run`` that waits on
        something other than :meth:`wait`. Nothing to do by default."""

    def _main(self) -> None:
        try:
            self.run()
        except Exception:
            log.exception("%s stopped unexpectedly", self.name)
